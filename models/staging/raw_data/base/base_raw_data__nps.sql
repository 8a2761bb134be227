{{ check_raw_rows(
    source_relation=source('raw_data', 'nps'),
    columns=['id', 'created', 'score'],
    key_columns=['id'],
    value_checks=[
        {'condition': 'score is null or score < 0 or score > 10', 'reason': 'score_out_of_range'},
    ],
) }}
