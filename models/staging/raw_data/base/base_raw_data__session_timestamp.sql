{{ check_raw_rows(
    source_relation=source('raw_data', 'session_timestamp'),
    columns=['sessionid', 'ts'],
    key_columns=['sessionid'],
) }}
