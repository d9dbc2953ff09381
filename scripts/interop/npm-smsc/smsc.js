#!/usr/bin/env node
// A fake operator SMSC built on node-smpp (npm `smpp`), for tests/interop/test_npm_smsc.py:
// an SMPP implementation that is not ours, for our outbound connector to bind to.
//
//   node smsc.js [--port=0] [--host=127.0.0.1] [--system-id=rcs] [--password=secret]
//                [--receipt-delay-ms=200]
// or the same through SMSC_PORT, SMSC_HOST, SMSC_SYSTEM_ID, SMSC_PASSWORD,
// SMSC_RECEIPT_DELAY_MS (arguments win). Port 0 takes an ephemeral port.
//
// Behaviour:
// - bind_transceiver with the configured system_id/password is accepted; a wrong one gets
//   ESME_RINVSYSID / ESME_RINVPASWD; other binds, and anything but enquire_link / unbind
//   before a bind, get ESME_RINVBNDSTS.
// - submit_sm is answered with a new message_id: 10 upper-case hex digits, zero-padded
//   ("000000A001", ...) — leading zeros and case are things receipts must survive.
// - after --receipt-delay-ms a deliver_sm receipt (esm_class 0x04, data_coding 0) goes back
//   on the same session when registered_delivery asks for one (1: always, 2: on failure),
//   its short_message the SMPP 3.4 Appendix B text and no TLVs:
//     id:<message_id> sub:001 dlvrd:001 submit date:YYMMDDhhmm done date:YYMMDDhhmm
//     stat:DELIVRD err:000 text:<first 20 characters>
//   Stat rule: a destination ending in 0 gets stat:UNDELIV err:008 (dlvrd:000), any other
//   stat:DELIVRD err:000. Each part of a long message is a submit_sm with its own receipt.
// - enquire_link and unbind are answered (unbind then closes the connection).
//
// stdout: first the line "listening <port>", then one JSON object per line for each event
// (bind, submit_sm, deliver_sm, deliver_sm_resp, enquire_link, unbind, close). submit_sm
// lines carry short_message as hex exactly as received, plus node-smpp's own decoding of it
// (udh: the information elements in hex, text). Diagnostics go to stderr.
'use strict';

const smpp = require('smpp');

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => a.replace(/^--/, '').split(/=(.*)/s).slice(0, 2)),
);
const opt = (name, env, fallback) => args[name] ?? process.env[env] ?? fallback;
const config = {
  host: opt('host', 'SMSC_HOST', '127.0.0.1'),
  port: Number(opt('port', 'SMSC_PORT', '0')),
  systemId: opt('system-id', 'SMSC_SYSTEM_ID', 'rcs'),
  password: opt('password', 'SMSC_PASSWORD', 'secret'),
  receiptDelayMs: Number(opt('receipt-delay-ms', 'SMSC_RECEIPT_DELAY_MS', '200')),
};

// node-smpp decodes short_message (UDH split off, text decoded) on receipt, which loses the
// exact octets; keep submit_sm's raw and decode a copy ourselves (decodeMessage below).
const messageFilter = smpp.commands.submit_sm.params.short_message.filter;
delete smpp.commands.submit_sm.params.short_message.filter;
const decodeMessage = (pdu) => messageFilter.decode.call(pdu, pdu.short_message);

const emit = (event, fields = {}) => process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
const smppDate = (d) => d.toISOString().replace(/\D/g, '').slice(2, 12); // YYMMDDhhmm, UTC
const asciiText = (s) => s.replace(/[^\x20-\x7e]/g, '?').slice(0, 20);
let nextId = 0xa000;

const server = smpp.createServer((session) => {
  let bound = false;
  session.on('error', (err) => process.stderr.write(`session error: ${err.message}\n`));
  session.on('close', () => emit('close'));

  session.on('pdu', (pdu) => {
    if (pdu.isResponse()) {
      if (pdu.command === 'deliver_sm_resp') emit('deliver_sm_resp', { status: pdu.command_status });
      return;
    }
    switch (pdu.command) {
      case 'bind_transceiver': {
        let status = smpp.ESME_ROK;
        if (bound) status = smpp.ESME_RALYBND;
        else if (pdu.system_id !== config.systemId) status = smpp.ESME_RINVSYSID;
        else if (pdu.password !== config.password) status = smpp.ESME_RINVPASWD;
        bound = status === smpp.ESME_ROK;
        emit('bind', { system_id: pdu.system_id, status });
        // An error response carries no body; a good one names this SMSC.
        session.send(pdu.response(status ? { command_status: status } : { system_id: 'npm-smsc' }));
        return;
      }
      case 'enquire_link':
        emit('enquire_link');
        session.send(pdu.response());
        return;
      case 'unbind':
        emit('unbind');
        session.send(pdu.response(), () => session.close());
        return;
      case 'submit_sm':
        if (!bound) break;
        onSubmit(session, pdu);
        return;
      default:
    }
    // Not bound yet, another bind type, or a command this SMSC does not take.
    const status = pdu.command === 'unknown' ? smpp.ESME_RINVCMDID : smpp.ESME_RINVBNDSTS;
    session.send(pdu.response({ command_status: status }));
  });
});

function onSubmit(session, pdu) {
  const messageId = (nextId++).toString(16).toUpperCase().padStart(10, '0');
  const submitted = new Date();
  const decoded = decodeMessage(pdu);
  emit('submit_sm', {
    message_id: messageId,
    source: pdu.source_addr,
    source_ton: pdu.source_addr_ton,
    source_npi: pdu.source_addr_npi,
    destination: pdu.destination_addr,
    dest_ton: pdu.dest_addr_ton,
    dest_npi: pdu.dest_addr_npi,
    esm_class: pdu.esm_class,
    data_coding: pdu.data_coding,
    registered_delivery: pdu.registered_delivery,
    short_message: pdu.short_message.toString('hex'),
    udh: (decoded.udh || []).map((ie) => ie.toString('hex')),
    text: decoded.message,
  });
  session.send(pdu.response({ message_id: messageId }));

  const delivered = !pdu.destination_addr.endsWith('0');
  const wanted = pdu.registered_delivery & 0x03;
  if (wanted === 1 || (wanted === 2 && !delivered)) {
    setTimeout(() => {
      const stat = delivered ? 'DELIVRD' : 'UNDELIV';
      const receipt =
        `id:${messageId} sub:001 dlvrd:${delivered ? '001' : '000'}` +
        ` submit date:${smppDate(submitted)} done date:${smppDate(new Date())}` +
        ` stat:${stat} err:${delivered ? '000' : '008'} text:${asciiText(decoded.message)}`;
      // The handset is the receipt's source, the original sender its destination.
      const sent = session.deliver_sm({
        source_addr_ton: pdu.dest_addr_ton,
        source_addr_npi: pdu.dest_addr_npi,
        source_addr: pdu.destination_addr,
        dest_addr_ton: pdu.source_addr_ton,
        dest_addr_npi: pdu.source_addr_npi,
        destination_addr: pdu.source_addr,
        esm_class: smpp.ESM_CLASS.MC_DELIVERY_RECEIPT,
        data_coding: 0,
        short_message: Buffer.from(receipt, 'ascii'), // a Buffer goes out as is
      });
      emit('deliver_sm', { message_id: messageId, stat, receipt, sent });
    }, config.receiptDelayMs);
  }
}

server.on('error', (err) => {
  process.stderr.write(`server error: ${err.message}\n`);
  process.exit(1);
});
server.listen(config.port, config.host, () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
