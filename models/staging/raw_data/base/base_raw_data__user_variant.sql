{{ check_raw_rows(
    source_relation=source('raw_data', 'user_variant'),
    columns=['user_id', 'variant_id'],
    key_columns=['user_id'],
) }}
