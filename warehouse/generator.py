"""A deterministic raw data set with the course data set's shape (see shared/CONTRACT.md).

`generate()` writes one `<table>.csv` per raw table and a `manifest.json`. The same arguments
always give byte-identical files. The clean rows come from one random stream seeded with
`seed`; with `dirty=True` a second, separate stream appends bad rows of every kind the contract
lists, on keys the clean rows never use, so the clean part of a dirty data set is exactly the clean
data set and the manifest states exactly what the contract's rules must quarantine.
Rows are streamed to the files: memory does not grow with the number of sessions.

Behaviour, so that attribution, journeys and retention have something to find:

- **Users churn and some return.** A user is active in spells: the first starts at signup
  and lasts about 110 days (exponential, at least a week); after it 45% come back, at least
  two weeks later (seven on average), for a shorter spell (about 60 days), and 30% of those
  again (five spells at most). Sessions come only from users in a spell, so a cohort's
  retention falls month by month (the May cohort keeps about 85% in its second month and about
  a third by November), while signups, more of them late, keep monthly active users growing
  as the course's do (about 270 to 600).
- **Channels play roles.** A journey starts with a user's first session and again after a
  purchase or a week without sessions. Early in a journey users come through the *openers*
  (Youtube, Instagram, Facebook: video and social), and the further the journey goes, the more
  through the *closers* (Google and Naver: search; Organic). Search converts best (a session's
  purchase rate: Google 6%, Naver 4.5%, Organic 4%, Facebook 1.8%, Instagram 1.4%, Youtube 1%),
  so last touch credits search and first touch credits video and social.
- **The A/B test has a modest true effect**: a clicked item is bought 5.0% of the time in
  `control` and 5.7% in `test` (a 14% lift).
- **Customers won on Youtube come back to buy.** A paying user's *acquisition channel* is that
  of their first paid session (an amount above 0: where `new_paying_users` counts them). From
  then on, a user acquired on Youtube buys 2.5 times as often per session as their channel
  alone would (`REPEAT_FACTOR`), so Youtube's customers make about 1.6 times as many repeat
  purchases as the others' (6.3 per user against 3.9) and bring the most net revenue from
  their first paid month on (about 1,040 per user; 470 to 710 for the other channels). These
  extra purchases are drawn from a stream of their own and do not restart the user's journey,
  so every other row is the one the data set would have without them.
- **Spend varies by channel and season**: social (Facebook, Instagram) ramps up towards the
  November shopping season, Youtube runs a summer campaign (July and August), Google grows
  steadily with lower weekends, Naver peaks in September; Organic has no spend.
- **Search wins paying users cheaply.** The channels' spend levels (`AD_BASE`) make search's
  CAC (its spend over its new paying users, whole period) about 160 (Google) and 170 (Naver),
  against about 900 to 1,200 for Youtube, Instagram and Facebook, which win few paying users
  (they open journeys that search closes). So in `cac_payback_monthly` nearly every search
  cohort pays its CAC back in its first or second month, most social cohorts not by the end,
  half of Youtube's by their second month; and Youtube's have the highest lifetime value (May
  cohorts after six months, per user: Youtube about 1,700, Naver 1,270, Google 960, Instagram
  790, Facebook 580).

**Planted anomalies** (`plant_anomalies=True`, `warehouse generate --plant-anomalies`): two
incidents for `channel_metric_anomalies` to find (docs/alerts.md), and nothing else changed,
every random draw included, so the rest of the data set is byte for byte the default one:

- *a budget typo*: Naver's spend on the data set's last day (`end`) is ten times what was
  drawn (an extra zero). The data set's day-to-day spend noise (0.56 to 1.56 times a channel's
  seasonal level) makes a doubled day hard to tell from a high one; ten times is not;
- *conversion tracking lost*: Google's transactions of `end` minus 3 days are missing (its
  sessions are there), so Google's conversions and conversion rate fall to 0 that day. A
  channel's conversions are scored only from about 20 a day (scale 3 and up, for Google).

`PLANTED` lists them; the manifest's `planted` says which were written.
"""

from __future__ import annotations

import csv
import json
import random
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from functools import cache
from hashlib import md5
from itertools import accumulate, product
from math import fsum, isfinite
from pathlib import Path
from typing import IO

from warehouse.schema import RAW_TABLES

Row = tuple[object, ...]

CHANNELS = ("Facebook", "Google", "Instagram", "Naver", "Organic", "Youtube")
# A journey's channel: openers early on, closers the further it goes (see the docstring).
OPENER_WEIGHTS = (0.25, 0.05, 0.25, 0.05, 0.10, 0.30)
CLOSER_WEIGHTS = (0.07, 0.40, 0.04, 0.25, 0.20, 0.04)
CLOSER_SHARE = (0.15, 0.10, 0.75)  # at a journey's first session, added per session, at most
JOURNEY_GAP_DAYS = 7  # a session after this many days without one starts a new journey
LISTED_CHANNELS = (*CHANNELS, "TIKTOK")
PAID_CHANNELS = tuple(c for c in CHANNELS if c != "Organic")
TRANSACTION_RATE = {"Facebook": 0.018, "Google": 0.06, "Instagram": 0.014, "Naver": 0.045,
                    "Organic": 0.04, "Youtube": 0.01}
# A paying user's acquisition channel (that of their first paid session) multiplies the purchase
# rate of every later session of theirs by its factor here (1 if not listed; none below 1).
REPEAT_FACTOR = {"Youtube": 2.5}
# Daily impressions and CPM in cents: search wins a paying user for far less than social and
# video do (see the docstring).
AD_BASE = {"Facebook": (60_000, 325), "Google": (90_000, 225), "Instagram": (45_000, 275),
           "Naver": (30_000, 400), "Youtube": (70_000, 170)}
HOUR_WEIGHTS = (2, 1, 1, 1, 1, 1, 2, 4, 6, 7, 7, 7, 8, 8, 7, 7, 7, 8, 9, 10, 10, 9, 7, 4)
NPS_WEIGHTS = (3, 1, 1, 2, 2, 4, 5, 9, 14, 24, 35)  # scores 0..10
AGES = ("10-19", "20-29", "30-39", "40-49", "50-59", "60+")
AGE_WEIGHTS = (8, 30, 28, 18, 10, 6)
GENDERS = ("male", "female", "unknown")
GENDER_WEIGHTS = (45, 45, 10)
VARIANT_PURCHASE_RATE = {"control": 0.05, "test": 0.057}  # per clicked item
# Activity spells: mean length in days of the first and of a later spell, the chance to return
# after the first and after a later one, and the gap before a return (at least, mean extra).
SPELL_DAYS = (110, 60)
RETURN_CHANCE = (0.45, 0.30)
RETURN_GAP_DAYS = (14, 35)
FIRST_DAY_SIGNUPS = 0.22  # the rest sign up over the period, more of them late

USERS_PER_SCALE = 950
SESSIONS_PER_SCALE = 100_000
NPS_PER_SCALE = 15_000
ITEM_COUNT = 1_000
PREFERENCE_SLOTS = 20
EVENT_WINDOW = (date(2019, 10, 1), date(2019, 11, 30))
DIRTY_RATE = 0.001  # bad rows of each kind, as a share of a table's clean rows
SAMPLE_SIZE = 2_000  # clean rows kept per table as candidates for dirty injections
DAY = 86_400
# What plant_anomalies plants: (channel, metric, days before `end`, what happens). The
# metrics are channel_metric_anomalies' names for what each incident moves.
PLANTED = (
    ("Naver", ("spend",), 0, "spend x10"),
    ("Google", ("conversions", "conversion_rate"), 3, "transactions lost"),
)
SPEND_TYPO_FACTOR = 10


@dataclass
class Manifest:
    """What a generated data set holds; `asdict()` of it is `manifest.json`."""

    seed: int
    scale: float
    dirty: bool
    start: str
    end: str
    rows: dict[str, int]
    exact_duplicates: dict[str, int]
    quarantine: dict[str, dict[str, int]]
    # the anomalies planted (plant_anomalies): channel, metric and day each one moves
    planted: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> str:
        """The manifest as indented JSON text."""
        return json.dumps(asdict(self), indent=2) + "\n"


@cache
def _times_of_day() -> tuple[str, ...]:
    return tuple(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(DAY))


def _table(values: Sequence[int], weights: Sequence[int], size: int = 1_000) -> list[int]:
    """`values` repeated by weight into `size` slots: a uniform pick from it is a weighted one."""
    total = sum(weights)
    slots: list[int] = []
    for value, weight in zip(values, weights, strict=True):
        slots.extend([value] * round(size * weight / total))
    return slots


class _Clock:
    """Formats seconds after midnight of `first` as `YYYY-MM-DD HH:MM:SS`."""

    def __init__(self, first: date, days: int) -> None:
        self.days = [(first + timedelta(d)).isoformat() for d in range(days)]

    def ts(self, seconds: int) -> str:
        return f"{self.days[seconds // DAY]} {_times_of_day()[seconds % DAY]}"


@dataclass(frozen=True)
class _Window:
    """The dates a slice of the data set keeps (ISO text; None is open), see `generate`."""

    since: str | None = None
    until: str | None = None
    undated: bool = True  # rows without a date (channel, user_variant)

    def keeps(self, when: str | None) -> bool:
        """Whether a row dated `when` (a date or timestamp as ISO text) is in the slice."""
        if when is None:
            return self.undated
        day = when[:10]
        return (self.since is None or day >= self.since) and (
            self.until is None or day <= self.until)


class _Sink:
    """One CSV file: counts its rows and keeps every `stride`-th one as a sample."""

    def __init__(self, handle: IO[str], columns: Sequence[str], expected: int,
                 window: _Window) -> None:
        self.writer = csv.writer(handle, lineterminator="\n")
        self.writer.writerow(columns)
        self.rows = 0
        self.stride = max(1, expected // SAMPLE_SIZE)
        self.sample: list[Row] = []
        self.window = window

    def write(self, row: Row, when: str | None = None) -> None:
        """Write `row` (dated `when`, None for an undated row) if the slice keeps it."""
        if not self.window.keeps(when):
            return
        self.writer.writerow(row)
        self.rows += 1
        if self.rows % self.stride == 0:
            self.sample.append(row)


@dataclass
class _Users:
    """Users 1..n in signup order: signup day, activity weight, activity spells (day offsets,
    [start, end)), channel habits early and late in a journey, and where each user's current
    journey stands (sessions so far, day of the last session), updated as sessions are drawn."""

    signup: list[int]
    weight: list[float]
    spells: list[list[tuple[int, int]]]
    openers: list[tuple[str, ...]]
    closers: list[tuple[str, ...]]
    stage: list[int]
    last_day: list[int]
    # the extra purchase chance of a user's later sessions, per unit of the base rate: None
    # until their first paid session (an amount above 0), then REPEAT_FACTOR of its channel - 1
    extra: list[float | None]


def _habits(rng: random.Random, weights: Sequence[float]) -> tuple[str, ...]:
    """A user's channel slots: mostly one or two personal favourites, drawn by `weights`."""
    favourites = rng.choices(CHANNELS, weights, k=rng.randint(1, 2))
    return tuple(rng.choice(favourites) if rng.random() < 0.7 else rng.choices(CHANNELS, weights)[0]
                 for _ in range(PREFERENCE_SLOTS))


def _spells(rng: random.Random, signup: int) -> list[tuple[int, int]]:
    """Activity spells from `signup`: a long first one, then returns of shorter ones."""
    spells, begin = [], signup
    for later in (0, 1, 1, 1, 1):  # at most five spells
        length = 7 + int(rng.expovariate(1 / SPELL_DAYS[later]))
        spells.append((begin, begin + length))
        if rng.random() >= RETURN_CHANCE[later]:
            break
        begin += length + RETURN_GAP_DAYS[0] + int(rng.expovariate(1 / RETURN_GAP_DAYS[1]))
    return spells


def _make_users(rng: random.Random, count: int, days: int) -> _Users:
    signup = sorted(0 if rng.random() < FIRST_DAY_SIGNUPS else int(days * rng.random() ** 0.85)
                    for _ in range(count))
    signup[0] = 0
    weight = [rng.lognormvariate(0.0, 0.8) for _ in range(count)]
    spells = [_spells(rng, day) for day in signup]
    openers = [_habits(rng, OPENER_WEIGHTS) for _ in range(count)]
    closers = [_habits(rng, CLOSER_WEIGHTS) for _ in range(count)]
    return _Users(signup, weight, spells, openers, closers, [0] * count, [-DAY] * count,
                  [None] * count)


class _Activity:
    """The users in a spell on each day, for days visited in increasing order."""

    def __init__(self, users: _Users) -> None:
        self.day = -1
        self.active: dict[int, None] = {}  # insertion-ordered: the same order every run
        self.starts: dict[int, list[int]] = {}
        self.ends: dict[int, list[int]] = {}
        for user, spells in enumerate(users.spells):
            for begin, end in spells:
                self.starts.setdefault(begin, []).append(user)
                self.ends.setdefault(end, []).append(user)

    def on(self, day: int) -> list[int]:
        """The users (0-based) active on `day`, which is never before the previous call's."""
        while self.day < day:
            self.day += 1
            for user in self.ends.get(self.day, ()):
                del self.active[user]
            for user in self.starts.get(self.day, ()):
                self.active[user] = None
        return list(self.active)


def _daily_sessions(users: _Users, start: date, days: int, total: int,
                    extra_days: int = 0) -> list[int]:
    """Sessions per day, proportional to the activity of the users in a spell that day: `total`
    over the `days` of the data set, then `extra_days` more at the same rate (a continuation)."""
    activity, weights = _Activity(users), []
    for d in range(days + extra_days):
        weekend = (start + timedelta(d)).weekday() >= 5
        active = fsum(users.weight[u] for u in activity.on(d))
        weights.append(active * (0.85 if weekend else 1.0))
    whole, done, previous = sum(weights[:days]), 0.0, 0
    counts: list[int] = []
    for weight in weights[:days]:
        done += weight
        upto = round(total * done / whole)
        counts.append(upto - previous)
        previous = upto
    return counts + [round(total * weight / whole) for weight in weights[days:]]


def _transaction(rnd: Callable[[], float], session_id: str) -> Row:
    if rnd() < 0.005:
        return (session_id, "false", 0)
    refunded = "true" if rnd() < 0.07 else "false"
    return (session_id, refunded, 10 + int(490 * rnd() ** 3))


def _write_sessions(rng: random.Random, repeat_rng: random.Random, seed: int, users: _Users,
                    activity: _Activity, clock: _Clock, counts: dict[int, int],
                    sinks: dict[str, _Sink], n: int = 0,
                    lost: tuple[str, int] | None = None) -> list[str]:
    """Sessions (`counts`: day offset -> sessions that day, in increasing days, numbered on from
    `n`) with their timestamp and maybe a transaction; returns sampled ids of sessions without
    a transaction. A session's channel follows where its user's journey stands. A user whose
    acquisition channel has a REPEAT_FACTOR may buy in a session that did not (`repeat_rng`,
    a stream of its own, so every draw of `rng` stays what it was without it). `lost`
    (channel, day offset): that channel's transactions that day are drawn but not written."""
    usc, stamps = sinks["user_session_channel"], sinks["session_timestamp"]
    transactions = sinks["session_transaction"]
    rnd, times, weight, extra_rnd = rng.random, _times_of_day(), users.weight, repeat_rng.random
    stage, last_day, openers, closers = users.stage, users.last_day, users.openers, users.closers
    extra = users.extra
    first_share, step, most = CLOSER_SHARE
    hours = [h * 3600 for h in _table(range(24), HOUR_WEIGHTS)]
    n_hours, stride, no_transaction = len(hours), usc.stride, []
    for d, count in counts.items():
        active = activity.on(d)
        cum = list(accumulate(weight[u] for u in active))
        total, prefix = (cum[-1] if cum else 0.0), clock.days[d] + " "
        kept = usc.window.keeps(clock.days[d])  # outside the slice: drawn, not written
        write_usc, write_ts = (usc.writer.writerow, stamps.writer.writerow) if kept else (
            _discard, _discard)
        for _ in range(count if active else 0):
            n += 1
            user = active[bisect_right(cum, rnd() * total)]
            if d - last_day[user] > JOURNEY_GAP_DAYS:
                stage[user] = 0
            closing = rnd() < min(most, first_share + step * stage[user])
            channel = (closers if closing else openers)[user][int(rnd() * PREFERENCE_SLOTS)]
            session_id = md5(b"%d:%d" % (seed, n)).hexdigest()
            usc_row = (user + 1, session_id, channel)
            ts_row = (session_id, prefix + times[hours[int(rnd() * n_hours)] + int(rnd() * 3600)])
            write_usc(usc_row)
            write_ts(ts_row)
            rate = TRANSACTION_RATE[channel]
            paid = rnd() < rate
            transaction = _transaction(rnd, session_id) if paid else None
            # a repeat purchase the acquisition channel adds: with the chance that makes the
            # session's rate REPEAT_FACTOR times `rate`. It does not restart the journey (a
            # journey's stage is `rng`'s, like every channel drawn from it)
            more = extra[user]
            if more and not paid and extra_rnd() * (1 - rate) < more * rate:
                transaction = _transaction(extra_rnd, session_id)
            if transaction is not None:
                if lost != (channel, d):  # drawn all the same: nothing else changes
                    transactions.write(transaction, clock.days[d])
                if more is None and transaction[2]:  # the user's first paid session
                    extra[user] = REPEAT_FACTOR.get(channel, 1.0) - 1
            stage[user] = 0 if paid else stage[user] + 1
            last_day[user] = d
            if kept and n % stride == 0:
                usc.sample.append(usc_row)
                stamps.sample.append(ts_row)
                if transaction is None:
                    no_transaction.append(session_id)
        if kept:
            usc.rows += count if active else 0
            stamps.rows += count if active else 0
    return no_transaction


def _discard(row: Row) -> None:
    """A writer for rows outside the slice."""


def _write_nps(rng: random.Random, count: int, start: date, end: date, sink: _Sink) -> None:
    first, last = date(start.year, 1, 1), date(end.year, 12, 31)
    clock = _Clock(first, (last - first).days + 1)
    span, scores = len(clock.days) * DAY, _table(range(11), NPS_WEIGHTS)
    for i in range(count):
        created = clock.ts(int((i + rng.random()) * span / count))
        sink.write((i + 1, created, scores[int(rng.random() * len(scores))]), created)


def _event_days(start: date, end: date) -> tuple[int, int]:
    """The A/B test's event window as day offsets from `start`, clamped into start..end."""
    lo = min(max(start, EVENT_WINDOW[0]), end)
    hi = max(min(end, EVENT_WINDOW[1]), lo)
    return (lo - start).days, (hi - start).days


def _write_ab_test(rng: random.Random, users: _Users, clock: _Clock, window: tuple[int, int],
                   variants: _Sink, events: _Sink) -> None:
    assigned = []
    for user in range(1, len(users.signup) + 1):
        if rng.random() < 0.5:
            variant = "control" if rng.random() < 0.5 else "test"
            variants.write((user, variant))
            assigned.append((user, variant))
    for user, variant in assigned:
        lo, hi = max(window[0], users.signup[user - 1]), window[1]
        if lo > hi:
            continue
        seen = {(lo + int(rng.random() * (hi - lo + 1)), 1 + int(rng.random() * ITEM_COUNT))
                for _ in range(rng.randint(20, 40))}
        for day, item in sorted(seen):
            clicked = rng.random() < 0.2
            purchased = clicked and rng.random() < VARIANT_PURCHASE_RATE[variant]
            amount = 5 + int(195 * rng.random() ** 2) if purchased else 0
            events.write((user, f"{clock.days[day]} 00:00:00", item, int(clicked),
                          int(purchased), amount), clock.days[day])


def _write_metadata(rng: random.Random, users: _Users, clock: _Clock, sink: _Sink) -> None:
    for user, signup in enumerate(users.signup, start=1):
        age = rng.choices(AGES, AGE_WEIGHTS)[0]
        gender = rng.choices(GENDERS, GENDER_WEIGHTS)[0]
        updated = signup * DAY + int(rng.random() * DAY)
        versions = 1 if rng.random() >= 0.2 else rng.randint(2, 3)
        for _ in range(versions):
            sink.write((user, age, gender, clock.ts(updated)), clock.ts(updated))
            updated += rng.randint(1, 60) * DAY + int(rng.random() * DAY)
            if rng.random() < 0.5:
                age = AGES[min(AGES.index(age) + 1, len(AGES) - 1)]
            else:
                gender = rng.choices(GENDERS, GENDER_WEIGHTS)[0]


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _season(channel: str, day: date, progress: float) -> float:
    """How much a paid channel spends on `day`, against its base (`progress`: 0 on the data
    set's first day, 1 on its last, on beyond it in a continuation)."""
    if channel in ("Facebook", "Instagram"):  # social ramps up into the November season
        ramp = (day - date(day.year, 9, 1)).days / 90
        return (1 + 0.2 * progress) * (1 + 0.9 * min(1.0, max(0.0, ramp)))
    if channel == "Youtube":  # a summer campaign
        return 1.7 if day.month in (7, 8) else 1.0
    if channel == "Google":  # steady growth, less on weekends
        return (1 + 0.4 * progress) * (0.75 if day.weekday() >= 5 else 1.0)
    return 1.8 if day.month == 9 else 1.0  # Naver: the September holidays


def _write_ad_spend(rng: random.Random, scale: float, clock: _Clock, days: Iterable[int],
                    span: int, sink: _Sink, typo: tuple[str, int] | None = None) -> None:
    """Spend per paid channel on the day offsets `days`, by channel and season (`_season`)
    over the `span` days of the data set, and on at that pace after it. `typo` (channel, day
    offset): that spend is SPEND_TYPO_FACTOR times what was drawn."""
    for d in days:
        day, progress = date.fromisoformat(clock.days[d]), d / max(1, span - 1)
        for channel in PAID_CHANNELS:
            base, cpm = AD_BASE[channel]
            volume = base * scale * _season(channel, day, progress)
            impressions = max(1, int(volume * (0.7 + 0.6 * rng.random())))
            clicks = int(impressions * (0.005 + 0.025 * rng.random()))
            cents = max(1, round(impressions * cpm * (0.8 + 0.4 * rng.random()) / 1000))
            if typo == (channel, d):
                cents *= SPEND_TYPO_FACTOR
            sink.write((clock.days[d], channel, impressions, clicks, _money(cents)),
                       clock.days[d])


class _Injector:
    """Builds a dirty data set's bad rows on fresh keys and counts their expected outcome."""

    def __init__(self, seed: int, clock: _Clock, days: int, sinks: dict[str, _Sink],
                 users: int, nps_ids: int) -> None:
        self.rng = random.Random(f"dirty:{seed}")  # never the clean rows' stream
        self.seed, self.clock, self.days, self.sinks = seed, clock, days, sinks
        self.rows: dict[str, list[Row]] = {t.name: [] for t in RAW_TABLES}
        self.duplicates = {t.name: 0 for t in RAW_TABLES}
        self.quarantine: dict[str, Counter[str]] = {t.name: Counter() for t in RAW_TABLES}
        self.next_id = {"session": 0, "user": users, "nps": nps_ids, "item": ITEM_COUNT, "ad": -1}

    def fresh(self, kind: str) -> int:
        self.next_id[kind] += 1
        return self.next_id[kind]

    def session(self) -> str:
        return md5(b"dirty:%d:%d" % (self.seed, self.fresh("session"))).hexdigest()

    def count(self, table: str) -> int:
        return max(3, round(DIRTY_RATE * self.sinks[table].rows))

    def ts(self) -> str:
        return self.clock.ts(self.rng.randrange(self.days * DAY))

    def day(self) -> str:
        return f"{self.clock.days[self.rng.randrange(self.days)]} 00:00:00"

    def user(self) -> int:
        return self.rng.randint(1, self.next_id["user"])

    def add(self, table: str, rows: list[Row], reason: str | None = None) -> None:
        self.rows[table].extend(rows)
        if reason is not None:
            self.quarantine[table][reason] += len(rows)

    def distinct(self, count: int, make: Callable[[], Row]) -> list[Row]:
        rows: dict[Row, None] = {}
        while len(rows) < count:
            rows[make()] = None
        return list(rows)

    def copies(self, table: str, count: int | None = None) -> None:
        """Exact duplicates of sampled clean rows (a few twice)."""
        sample = self.sinks[table].sample
        for row in self.rng.sample(sample, min(count or self.count(table), len(sample))):
            extra = 2 if self.rng.random() < 0.2 else 1
            self.add(table, [row] * extra)
            self.duplicates[table] += extra

    def conflicts(self, table: str, group: Callable[[int], list[Row]]) -> None:
        """Groups of 2-3 distinct rows sharing a fresh key; some also repeat a row exactly."""
        for j in range(self.count(table)):
            rows = group(self.rng.choice((2, 2, 3)))
            self.add(table, rows, "conflicting_duplicate")
            if j == 0 or self.rng.random() < 0.25:
                self.add(table, rows[:1])
                self.duplicates[table] += 1

    def null_key(self, table: str, make: Callable[[], Row]) -> None:
        self.add(table, self.distinct(self.count(table), make), "null_key")


def _dirty_sessions(inj: _Injector, no_transaction: list[str]) -> None:
    rng, usc, ts, tx = inj.rng, "user_session_channel", "session_timestamp", "session_transaction"
    for table in (usc, ts, tx):
        inj.copies(table)
    inj.null_key(usc, lambda: (inj.user(), None, rng.choice(CHANNELS)))
    inj.null_key(ts, lambda: (None, inj.ts()))
    inj.null_key(tx, lambda: (None, rng.choice(("true", "false")), rng.randint(0, 99_999)))
    inj.conflicts(usc, lambda n: [(inj.user(), sid, c)
                                  for sid in [inj.session()] for c in rng.sample(CHANNELS, n)])
    inj.conflicts(ts, lambda n: [(sid, inj.clock.ts(t)) for sid in [inj.session()]
                                 for t in rng.sample(range(inj.days * DAY), n)])
    inj.conflicts(tx, lambda n: [(sid, "false", a) for sid in [inj.session()]
                                 for a in rng.sample(range(1, 501), n)])
    missing: list[Row] = [(inj.user(), inj.session(), rng.choice(CHANNELS))
                          for _ in range(inj.count(usc))]
    orphans: list[Row] = [(inj.session(), inj.ts()) for _ in range(inj.count(ts))]
    inj.add(usc, missing, "missing_timestamp")
    inj.add(ts, orphans, "orphan_timestamp")
    third = inj.count(tx) // 3  # sessions that exist in one table only are not clean either
    targets = [str(r[1]) for r in missing[:third]] + [str(r[0]) for r in orphans[:third]]
    targets += [inj.session() for _ in range(inj.count(tx) - len(targets))]
    inj.add(tx, [(sid, "false", rng.randint(0, 500)) for sid in targets], "orphan_transaction")
    negative = rng.sample(no_transaction, min(inj.count(tx), len(no_transaction)))
    inj.add(tx, [(sid, rng.choice(("true", "false")), -rng.randint(1, 500)) for sid in negative],
            "negative_amount")


def _dirty_other_tables(inj: _Injector, start: date) -> None:
    rng, combos = inj.rng, list(product(AGES, GENDERS))
    for table in ("nps", "user_event", "user_variant", "user_metadata", "ad_spend"):
        inj.copies(table)
    inj.copies("channel", 2)
    inj.null_key("nps", lambda: (None, inj.ts(), rng.randint(0, 10)))
    inj.conflicts("nps", lambda n: [(i, t, s) for i, t in [(inj.fresh("nps"), inj.ts())]
                                    for s in rng.sample(range(11), n)])
    inj.add("nps", [(inj.fresh("nps"), inj.ts(), rng.choice((-1, 11, 12, 20, None)))
                    for _ in range(inj.count("nps"))], "score_out_of_range")
    inj.null_key("user_event", lambda: rng.choice((
        (None, inj.day(), rng.randint(1, ITEM_COUNT), 0, 0, 0),
        (inj.user(), inj.day(), None, 1, 0, 0))))
    outcomes = [(0, 0, 0), (1, 0, 0), (1, 1, 0)]
    inj.conflicts("user_event", lambda n: [
        (u, d, i, c, p, p * rng.randint(5, 200)) for u, d, i in
        [(inj.user(), inj.day(), inj.fresh("item"))] for c, p, _ in rng.sample(outcomes, n)])
    inj.add("user_event", [(inj.user(), None, inj.fresh("item"), 1, 0, 0)
                           for _ in range(inj.count("user_event"))], "null_timestamp")
    inj.add("user_variant", [(None, "control"), (None, "test")], "null_key")  # all there are
    inj.conflicts("user_variant", lambda n: [(u, v) for u in [inj.fresh("user")]
                                             for v in rng.sample(("control", "test"), 2)])
    inj.null_key("user_metadata", lambda: rng.choice((
        (None, rng.choice(AGES), rng.choice(GENDERS), inj.ts()),
        (inj.user(), rng.choice(AGES), rng.choice(GENDERS), None))))
    inj.conflicts("user_metadata", lambda n: [
        (u, a, g, t) for u, t in [(inj.fresh("user"), inj.ts())]
        for a, g in rng.sample(combos, n)])
    inj.null_key("ad_spend", lambda: rng.choice((
        (None, rng.choice(PAID_CHANNELS), rng.randint(1_000, 99_999), 10, "10.00"),
        (inj.clock.days[rng.randrange(inj.days)], None, rng.randint(1_000, 99_999), 10, "10.00"))))

    def before(j: int) -> tuple[str, str]:  # keys before `start`: never a clean row's
        return (start - timedelta(1 + j // 5)).isoformat(), PAID_CHANNELS[j % 5]

    inj.conflicts("ad_spend", lambda n: [
        (d, c, 10_000, 150, _money(cents)) for d, c in [before(inj.fresh("ad"))]
        for cents in rng.sample(range(100, 100_000), n)])


def _flush(inj: _Injector) -> None:
    for table, rows in inj.rows.items():
        inj.rng.shuffle(rows)
        inj.sinks[table].writer.writerows(rows)
        inj.sinks[table].rows += len(rows)


def generate(out_dir: Path, *, scale: float = 1.0, seed: int = 42, dirty: bool = False,
             start: date = date(2019, 5, 1), end: date = date(2019, 11, 30),
             since: date | None = None, until: date | None = None,
             plant_anomalies: bool = False) -> Manifest:
    """Write `<table>.csv` for every raw table and `manifest.json` into `out_dir`.

    `scale` multiplies users, sessions, NPS answers and ad volumes; `dirty` appends bad rows of
    every kind the contract lists. Same arguments, byte-identical files.

    `since` and `until` cut a slice: only rows dated inside them (inclusive; None is open) are
    written, and rows without a date (`channel`, `user_variant`) only in the slice that holds
    `start`. Slices of the same data set never share a row, so loading consecutive slices one
    after another (`warehouse load --append`) gives the whole data set. An `until` after `end`
    continues the data set: the same users keep coming at the last days' pace, with new session
    ids and ad spend, day by day (the rows up to `end` stay exactly those of the data set).

    `plant_anomalies` plants the incidents of `PLANTED` (see the module's docstring).
    """
    if not isfinite(scale) or scale <= 0:
        raise ValueError("scale must be a positive number")
    if end < start:
        raise ValueError("end must not be before start")
    if since is not None and until is not None and until < since:
        raise ValueError("the slice's end must not be before its start")
    if dirty and (since is not None or until is not None):
        raise ValueError("--dirty writes a whole data set; it cannot be cut with --start/--end")
    out_dir.mkdir(parents=True, exist_ok=True)
    rng, days = random.Random(seed), (end - start).days + 1
    extra_days = max(0, (until - end).days) if until is not None else 0
    window = _Window(None if since is None else since.isoformat(),
                     None if until is None else until.isoformat(),
                     since is None or since <= start)
    n_users = max(1, round(USERS_PER_SCALE * scale))
    n_sessions, n_nps = round(SESSIONS_PER_SCALE * scale), round(NPS_PER_SCALE * scale)
    expected = {"user_session_channel": n_sessions, "session_timestamp": n_sessions,
                "session_transaction": n_sessions // 25, "nps": n_nps, "user_event": 15 * n_users,
                "user_variant": n_users // 2, "user_metadata": n_users, "ad_spend": 5 * days}
    clock = _Clock(start, days + extra_days + 400)  # metadata may be updated after `end`
    with ExitStack() as stack:
        sinks = {
            t.name: _Sink(stack.enter_context((out_dir / f"{t.name}.csv").open(
                "w", newline="", encoding="utf-8")), t.column_names, expected.get(t.name, 1),
                window)
            for t in RAW_TABLES
        }
        for name in LISTED_CHANNELS:
            sinks["channel"].write((name,))
        users = _make_users(rng, n_users, days)
        counts = _daily_sessions(users, start, days, n_sessions, extra_days)
        activity = _Activity(users)
        plants = {channel: days - 1 - before for channel, _, before, _ in PLANTED
                  if plant_anomalies and before < days}
        lost = ("Google", plants["Google"]) if "Google" in plants else None
        typo = ("Naver", plants["Naver"]) if "Naver" in plants else None
        no_transaction = _write_sessions(rng, random.Random(f"repeat:{seed}"), seed, users,
                                         activity, clock, dict(enumerate(counts[:days])), sinks,
                                         lost=lost)
        _write_nps(rng, n_nps, start, end, sinks["nps"])
        _write_ab_test(rng, users, clock, _event_days(start, end), sinks["user_variant"],
                       sinks["user_event"])
        _write_metadata(rng, users, clock, sinks["user_metadata"])
        _write_ad_spend(rng, scale, clock, range(days), days, sinks["ad_spend"], typo=typo)
        if extra_days:  # a continuation: its own random stream, so the days up to `end` stay
            later = random.Random(f"{seed}:after:{end.isoformat()}")
            _write_sessions(later, random.Random(f"repeat:{seed}:after:{end.isoformat()}"),
                            seed, users, activity, clock,
                            {d: counts[d] for d in range(days, days + extra_days)}, sinks,
                            n=sum(counts[:days]))
            _write_ad_spend(later, scale, clock, range(days, days + extra_days), days,
                            sinks["ad_spend"])
        inj = _Injector(seed, clock, days, sinks, n_users, n_nps)
        if dirty:
            _dirty_sessions(inj, no_transaction)
            _dirty_other_tables(inj, start)
            _flush(inj)
    manifest = Manifest(
        seed=seed, scale=float(scale), dirty=dirty,
        start=(since or start).isoformat(), end=(until or end).isoformat(),
        rows={t: s.rows for t, s in sinks.items()},
        exact_duplicates=inj.duplicates,
        quarantine={t: dict(sorted(c.items())) for t, c in inj.quarantine.items()},
        planted=[{"channel": channel, "metric": metric, "date": clock.days[plants[channel]],
                  "incident": incident}
                 for channel, metrics, _, incident in PLANTED if channel in plants
                 for metric in metrics if window.keeps(clock.days[plants[channel]])],
    )
    (out_dir / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
    return manifest
