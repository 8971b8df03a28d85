-- md5 of a set of rows, each given as row(...) (so NULLs show), in row order: the leading
-- fields are the key, so the order is the key's. The demo checksum's one rule per table.
create or replace macro tw_rows_digest(r) as
    md5(coalesce(string_agg(r::varchar, chr(10) order by r), ''));
