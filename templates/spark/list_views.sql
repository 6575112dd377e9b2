show views in {{ schema|quote }}
