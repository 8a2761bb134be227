{{ check_raw_rows('session_timestamp') }}
