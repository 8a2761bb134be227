{#-
    The two-sided p-value of a z statistic under the standard normal, 2 * (1 - Phi(|z|)),
    which is erfc(|z| / sqrt(2)). Redshift has no erf/erfc, so this is Hart's (1968) rational
    approximation of the normal tail as W. J. West published it ("Better approximations to
    cumulative normal functions", 2005): a degree 6/7 rational function times exp(-x^2/2)
    below x = 7.07 (10/sqrt(2)), a continued fraction above it; absolute error under 1e-14.
    Beyond |z| = 37 the p-value is under 1e-298 and is returned as 0 (exp() would underflow).
    Null when z is null. Portable: abs, exp, arithmetic.
-#}
{% macro normal_two_sided_p_value(z) -%}
    {%- set x = '(abs(' ~ z ~ '))' -%}
    {%- set numerator -%}
        (((((({{ x }} * 0.0352624965998911 + 0.700383064443688) * {{ x }}
        + 6.37396220353165) * {{ x }} + 33.912866078383) * {{ x }} + 112.079291497871) * {{ x }}
        + 221.213596169931) * {{ x }} + 220.206867912376)
    {%- endset -%}
    {%- set denominator -%}
        ((((((({{ x }} * 0.0883883476483184 + 1.75566716318264) * {{ x }}
        + 16.064177579207) * {{ x }} + 86.7807322029461) * {{ x }} + 296.564248779674) * {{ x }}
        + 637.333633378831) * {{ x }} + 793.826512519948) * {{ x }} + 440.413735824752)
    {%- endset -%}
    {%- set continued_fraction -%}
        ({{ x }} + 1.0 / ({{ x }} + 2.0 / ({{ x }} + 3.0 / ({{ x }} + 4.0 / ({{ x }} + 0.65)))))
    {%- endset -%}
    (case
        when {{ x }} is null then null
        when {{ x }} > 37 then cast(0 as double precision)
        when {{ x }} < 7.07106781186547
            then 2 * exp(-{{ x }} * {{ x }} / 2.0) * {{ numerator }} / {{ denominator }}
        else 2 * exp(-{{ x }} * {{ x }} / 2.0) / {{ continued_fraction }} / 2.506628274631
    end)
{%- endmacro %}
