/* Chronos collector snippet: sends a player's viewing to POST /v1/events in batches.
   Placeholder: the snippet for YouTube IFrame and HTML5 players is written in a later change. */
