{{ check_raw_rows('user_session_channel') }}
