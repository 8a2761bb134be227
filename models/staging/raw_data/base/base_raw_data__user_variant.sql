{{ check_raw_rows('user_variant') }}
