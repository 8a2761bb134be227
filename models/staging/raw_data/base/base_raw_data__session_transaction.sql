{{ check_raw_rows('session_transaction', value_checks=[
    {'condition': 'collapsed.amount < 0', 'reason': 'negative_amount'},
]) }}
