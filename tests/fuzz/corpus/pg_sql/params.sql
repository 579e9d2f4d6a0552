SELECT ?1, ? FROM t WHERE a = '?' AND b = ?3 -- ?
