{{ check_raw_rows(
    source_relation=source('raw_data', 'channel'),
    columns=['channelname'],
    key_columns=['channelname'],
) }}
