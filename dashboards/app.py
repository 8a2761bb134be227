"""The dashboards (Streamlit): `make dashboards`, then http://127.0.0.1:8501.

Each page is a file in views/ reading the marts in `analytics`; the exposures in
models/marts/_exposures.yml point at these pages.
"""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="ELT dashboards", layout="wide")
pages = [
    st.Page("views/home.py", title="Overview", default=True),
    st.Page("views/marketing_attribution.py", title="Marketing attribution",
            url_path="marketing-attribution"),
    st.Page("views/channel_paths.py", title="Channel paths and retention",
            url_path="channel-paths"),
    st.Page("views/cac_payback.py", title="CAC payback", url_path="cac-payback"),
    st.Page("views/nps.py", title="NPS", url_path="nps"),
    st.Page("views/ab_test.py", title="A/B test readout", url_path="ab-test"),
]
st.navigation(pages).run()
