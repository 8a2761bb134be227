{{ check_raw_rows('channel') }}
