{{ check_raw_rows(
    source_relation=source('raw_data', 'ad_spend'),
    columns=['date', 'channel', 'impressions', 'clicks', 'spend'],
    key_columns=['date', 'channel'],
) }}
