{{ check_raw_rows(
    source_relation=source('raw_data', 'user_metadata'),
    columns=['user_id', 'age', 'gender', 'updated_at'],
    key_columns=['user_id', 'updated_at'],
) }}
