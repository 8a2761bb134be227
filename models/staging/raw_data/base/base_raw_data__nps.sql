{{ check_raw_rows('nps', value_checks=[
    {'condition': 'collapsed.score is null or collapsed.score < 0 or collapsed.score > 10', 'reason': 'score_out_of_range'},
]) }}
