-- For each text hash of the pending articles, the already enriched original that carries it.
with candidates as (
    select a.text_hash, a.article_id, a.published_at
    from articles a
    join pending_hashes p on p.text_hash = a.text_hash
    where a.enriched_at is not null
      and a.duplicate_of is null
),
final as (
    select text_hash, arg_min(article_id, published_at) as original_id
    from candidates
    group by text_hash
)
select * from final
