"""The path a message takes through the server, one module per step, in the order it happens:

1. ``chat.consumers`` ``receive`` parses the ``send`` frame (``chat.protocol``) and hands the envelope to
2. ``batch``: this worker's queue; whenever the database thread is free, everything queued is one batch;
3. ``store``: the senders' rate is counted, then each send is checked against its room (member, wrapped for the
   current members at the roster head it names, next in its sender's chain) and stored, all in one transaction;
4. ``sql``: the statements of that transaction (lock and read the rooms, insert the envelopes);
5. the senders' sockets get their ``ack`` (only after the commit), then ``publish`` sends each room one
   ``messages`` frame per batch;
6. ``fanout``: every worker with sockets in the room gets the frame once (Redis pub/sub) and writes it to them;
7. ``presence``: who is online, kept beside the sockets, sent to the rooms as members come and go.
"""
