"""Rules as data: triggers (when something happens to a ticket), automations (when time
passes) and outgoing webhooks. `rules` decides, without the database, what a rule means;
`dispatch` feeds it the events the services write and applies what it decides through the
same services; `webhooks` tells other systems."""
