{{ check_raw_rows(
    source_relation=source('raw_data', 'user_session_channel'),
    columns=['userid', 'sessionid', 'channel'],
    key_columns=['sessionid'],
) }}
