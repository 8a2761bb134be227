{{ check_raw_rows('ad_spend') }}
