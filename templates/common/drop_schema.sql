drop schema if exists {{ schema|quote }} cascade
