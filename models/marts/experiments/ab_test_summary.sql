{{ config(dist='all') }}

with

assignments as (

    select
        user_id,
        variant_id
    from {{ ref('stg_raw_data__user_variant') }}

),

events as (

    select
        user_id,
        purchased,
        paid_amount
    from {{ ref('fct_user_events') }}
    where variant_id is not null

),

users_outcome as (

    select
        user_id,
        max(case when purchased > 0 then 1 else 0 end) as is_purchaser,
        sum(paid_amount) as revenue
    from events
    group by user_id

),

variants as (

    select
        assignments.variant_id,
        count(*) as users,
        sum(coalesce(users_outcome.is_purchaser, 0)) as purchasers,
        sum(coalesce(users_outcome.revenue, 0)) as revenue
    from assignments
    left join users_outcome
        on assignments.user_id = users_outcome.user_id
    group by assignments.variant_id

),

control as (

    select
        users as control_users,
        purchasers as control_purchasers
    from variants
    where variant_id = 'control'

),

compared as (

    select
        variants.variant_id,
        variants.users,
        variants.purchasers,
        variants.revenue,
        {{ safe_divide('variants.purchasers', 'variants.users') }} as conversion_rate,
        {{ safe_divide('control.control_purchasers', 'control.control_users') }}
            as control_conversion_rate,
        {{ safe_divide(
            'variants.purchasers + control.control_purchasers',
            'variants.users + control.control_users',
        ) }} as pooled_rate,
        variants.users as n_variant,
        control.control_users as n_control,
        variants.variant_id = 'control' as is_control
    from variants
    cross join control

),

tested as (

    select
        variant_id,
        users,
        purchasers,
        revenue,
        conversion_rate,
        control_conversion_rate,
        is_control,
        -- Double precision, as on Redshift (whose sqrt returns it), for the p-value's exp().
        cast(
            case
                when not is_control and pooled_rate > 0 and pooled_rate < 1
                    then (conversion_rate - control_conversion_rate)
                    / sqrt(pooled_rate * (1 - pooled_rate) * (1.0 / n_variant + 1.0 / n_control))
            end as double precision
        ) as z,
        case
            when not is_control
                then conversion_rate - control_conversion_rate
        end as diff,
        -- Unpooled (Wald) standard error of the difference, for its 95% interval.
        case
            when not is_control
                then sqrt(
                    conversion_rate * (1 - conversion_rate) / n_variant
                    + control_conversion_rate * (1 - control_conversion_rate) / n_control
                )
        end as diff_standard_error
    from compared

),

with_p_value as (

    select
        variant_id,
        users,
        purchasers,
        revenue,
        conversion_rate,
        control_conversion_rate,
        is_control,
        z,
        diff,
        diff_standard_error,
        {{ normal_two_sided_p_value('z') }} as p_value
    from tested

),

final as (

    select
        cast(variant_id as varchar(32)) as variant_id,
        cast(users as bigint) as users,
        cast(purchasers as bigint) as purchasers,
        cast(conversion_rate as double precision) as conversion_rate,
        cast(revenue as bigint) as revenue,
        cast({{ safe_divide('revenue', 'users') }} as double precision) as revenue_per_user,
        cast(
            case
                when not is_control
                    then {{ safe_divide('conversion_rate', 'control_conversion_rate') }} - 1
            end as double precision
        ) as lift_vs_control,
        cast(z as double precision) as z_score,
        cast(p_value as double precision) as p_value,
        cast(diff - 1.959964 * diff_standard_error as double precision) as diff_ci_low,
        cast(diff + 1.959964 * diff_standard_error as double precision) as diff_ci_high,
        cast(p_value < 0.05 as boolean) as is_significant
    from with_p_value

)

select * from final
