-- title: Change ideas by organisation
-- description: Each organisation's dated change ideas (PDSA cycles) from the lake's
-- description: change_ideas reference table, earliest first: what the charts mark and
-- description: what positive deviants are judged against.
-- unit: ideas
SELECT org_code,
       CAST(started AS VARCHAR) AS started,
       title
FROM change_ideas
ORDER BY org_code, started
