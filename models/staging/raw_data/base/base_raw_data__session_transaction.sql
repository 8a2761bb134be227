{{ check_raw_rows(
    source_relation=source('raw_data', 'session_transaction'),
    columns=['sessionid', 'refunded', 'amount'],
    key_columns=['sessionid'],
    value_checks=[
        {'condition': 'amount < 0', 'reason': 'negative_amount'},
    ],
) }}
