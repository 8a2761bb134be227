{#- A null datestamp is the contract's `null_timestamp`, not a `null_key`. #}
{{ check_raw_rows(
    source_relation=source('raw_data', 'user_event'),
    columns=['user_id', 'datestamp', 'item_id', 'clicked', 'purchased', 'paidamount'],
    key_columns=['user_id', 'datestamp', 'item_id'],
    null_key_columns=['user_id', 'item_id'],
    value_checks=[
        {'condition': 'datestamp is null', 'reason': 'null_timestamp'},
    ],
) }}
