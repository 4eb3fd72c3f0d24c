{#- Connected components of an undirected graph, computed in SQL until
    convergence (no fixed number of hops). Runs while the calling model is
    compiled, with run_query, in tables `<model>__cc_*` next to the model, and
    returns the relation holding (node_key, component_key): component_key is the
    smallest node_key of the component, so the result does not depend on
    the order of work.

    Each round reads every edge once (time linear in edges) and does three
    things at once: a node takes the smallest label among its neighbours, the
    root a label points to is hooked under a smaller neighbouring label, and
    every node jumps to its label's label (pointer jumping). Labels only
    decrease and always name a node of the same component, so a round without
    change is a fixpoint where each component carries its smallest node; a
    chain of n nodes takes about log2(n) rounds, not n.

    nodes_sql: a query returning node_key (string), one row per node
    edges_sql: a query returning node_key, linked_node_key; one direction is
               enough, isolated nodes need no edge

    The work runs only when dbt runs or builds the model: `dbt compile` and
    the SQL linter get the SQL without touching the warehouse. -#}
{% macro connected_components(nodes_sql, edges_sql) -%}
    {%- set nodes = this.schema ~ '.' ~ adapter.quote(this.identifier ~ '__cc_nodes') -%}
    {%- set edges = this.schema ~ '.' ~ adapter.quote(this.identifier ~ '__cc_edges') -%}
    {%- set labels = this.schema ~ '.' ~ adapter.quote(this.identifier ~ '__cc_labels') -%}
    {%- set next_labels = this.schema ~ '.' ~ adapter.quote(this.identifier ~ '__cc_next') -%}
    {%- set result = this.schema ~ '.' ~ adapter.quote(this.identifier ~ '__cc_result') -%}
    {%- if execute and flags.WHICH in ('run', 'build') -%}
        {%- do run_query('create schema if not exists ' ~ this.schema) -%}
        {%- do run_replace_table(
            nodes,
            'select row_number() over (order by node_key) as node, node_key '
            ~ 'from (select distinct node_key from (' ~ nodes_sql ~ ') as given) as distinct_nodes'
        ) -%}
        {#- both directions, integer ids; self-loops add nothing -#}
        {%- do run_replace_table(
            edges,
            'with given as (' ~ edges_sql ~ '), '
            ~ 'numbered as (select a.node as src, b.node as dst from given '
            ~ 'inner join ' ~ nodes ~ ' as a on a.node_key = given.node_key '
            ~ 'inner join ' ~ nodes ~ ' as b on b.node_key = given.linked_node_key '
            ~ 'where a.node <> b.node) '
            ~ 'select distinct src, dst from (select src, dst from numbered '
            ~ 'union all select dst, src from numbered) as both_ways'
        ) -%}
        {%- do run_replace_table(
            labels, 'select node, node as label from ' ~ nodes
        ) -%}
        {%- set state = namespace(converged=false, rounds=0) -%}
        {%- for round in range(var('identity_max_component_rounds')) if not state.converged -%}
            {%- do run_replace_table(
                next_labels,
                'with linked as ('
                ~ '  select e.dst, s.label as src_label, d.label as dst_label'
                ~ '  from ' ~ edges ~ ' as e'
                ~ '  inner join ' ~ labels ~ ' as s on s.node = e.src'
                ~ '  inner join ' ~ labels ~ ' as d on d.node = e.dst'
                ~ '  where s.label < d.label'
                ~ '), candidates as ('
                ~ '  select node, label from ' ~ labels
                ~ '  union all select dst, src_label from linked'
                ~ '  union all select dst_label, src_label from linked'
                ~ '), hooked as ('
                ~ '  select node, min(label) as label from candidates group by node'
                ~ ') '
                ~ 'select hooked.node, least(hooked.label, parent.label) as label '
                ~ 'from hooked inner join hooked as parent on parent.node = hooked.label'
            ) -%}
            {%- set changed = run_query(
                'select count(*) from ' ~ next_labels ~ ' as n inner join ' ~ labels
                ~ ' as l on l.node = n.node where n.label <> l.label'
            ).columns[0].values()[0] -%}
            {%- do run_query('drop table ' ~ labels) -%}
            {%- do run_rename_table(
                this.schema, this.identifier ~ '__cc_next', this.identifier ~ '__cc_labels'
            ) -%}
            {%- set state.rounds = state.rounds + 1 -%}
            {%- set state.converged = changed == 0 -%}
        {%- endfor -%}
        {%- if not state.converged -%}
            {{ exceptions.raise_compiler_error(
                this.identifier ~ ': connected components did not converge in '
                ~ var('identity_max_component_rounds') ~ ' rounds (var identity_max_component_rounds)'
            ) }}
        {%- endif -%}
        {%- do log(this.identifier ~ ': connected components converged in ' ~ state.rounds ~ ' rounds', info=true) -%}
        {%- do run_replace_table(
            result,
            'select n.node_key, c.node_key as component_key from ' ~ labels ~ ' as l '
            ~ 'inner join ' ~ nodes ~ ' as n on n.node = l.node '
            ~ 'inner join ' ~ nodes ~ ' as c on c.node = l.label'
        ) -%}
        {%- for table in [nodes, edges, labels] -%}
            {%- do run_query('drop table if exists ' ~ table) -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return(result) -}}
{%- endmacro %}
