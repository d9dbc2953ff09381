"""SMPP 3.4 protocol library: PDU codec, text encodings, segmentation and reassembly,
delivery receipts, operator id normalisation, and an asyncio session for either side.

Pure protocol code: no business rules, no imports from RCS services.

    constants     command ids, command_status codes, esm_class, data_coding, message_state, tags
    pdu / tlv     PDU dataclasses and the TLV mapping
    codec         encode / decode / frame_length
    gsm, encoding text <-> octets per data_coding
    segmentation  split into UDH-8 / UDH-16 / SAR parts
    reassembly    join parts back
    receipts      parse and build delivery receipts
    ids           operator message id normalisation
    session       SmppSession over asyncio streams
"""
