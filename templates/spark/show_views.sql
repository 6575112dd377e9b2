{#- A session's temporary views are listed in every schema. -#}
show views in {{ ("default" if relation.schema == "__dvt_session" else relation.schema)|quote }} like {{ relation.identifier|literal }}
