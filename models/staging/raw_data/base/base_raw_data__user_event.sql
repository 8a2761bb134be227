{#- A null datestamp is the contract's `null_timestamp`, not a `null_key`. #}
{{ check_raw_rows(
    'user_event',
    null_key_columns=['user_id', 'item_id'],
    value_checks=[
        {'condition': 'collapsed.datestamp is null', 'reason': 'null_timestamp'},
    ],
) }}
