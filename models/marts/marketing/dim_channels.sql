{{ config(dist='all') }}

with

channels as (

    select channel_name
    from {{ ref('stg_raw_data__channel') }}

),

channel_groups as (

    select
        channel,
        channel_group,
        is_paid,
        medium
    from {{ ref('channel_groups') }}

),

channels_with_sessions as (

    select distinct channel
    from {{ ref('int_sessions_monthly_by_channel') }}

),

final as (

    select
        cast(channels.channel_name as varchar(32)) as channel,
        cast(channel_groups.channel_group as varchar(32)) as channel_group,
        cast(channel_groups.is_paid as boolean) as is_paid,
        cast(channel_groups.medium as varchar(16)) as medium,
        channels_with_sessions.channel is not null as has_sessions
    from channels
    left join channel_groups
        on channels.channel_name = channel_groups.channel
    left join channels_with_sessions
        on channels.channel_name = channels_with_sessions.channel

)

select * from final
