package io.wiremesh.clusterdns;

import java.io.IOException;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Header;
import org.xbill.DNS.Message;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;

/**
 * DNS messages on the wire: what a request's bytes ask for, how large a response may be, and the response's
 * bytes with EDNS0 and truncation. Pure.
 * <ul>
 *   <li>UDP responses fit in 512 bytes (RFC 1035 §4.2.1), or in the requestor's EDNS0 UDP payload size when its
 *       query had an OPT record (RFC 6891 §6.2.5; at most {@value #MAX_UDP_SIZE}); TCP ones in 65535 bytes
 *       (RFC 1035 §4.2.2).</li>
 *   <li>A response that does not fit is sent with TC set and only its question (and OPT), so that the client
 *       asks again over TCP (RFC 2181 §9, RFC 7766).</li>
 *   <li>A response carries an OPT record (payload size {@value #ADVERTISED_UDP_SIZE}) exactly when its query had
 *       one; a query of an EDNS version other than 0 is answered BADVERS (RFC 6891 §6.1.3).</li>
 * </ul>
 */
public final class Wire {
    /** The UDP payload every requestor accepts (RFC 1035). */
    public static final int MIN_UDP_SIZE = 512;
    /** The largest UDP response sent, whatever the requestor advertises. */
    public static final int MAX_UDP_SIZE = 4096;
    /** The UDP payload size this server advertises in its OPT records (the DNS flag day 2020 value). */
    public static final int ADVERTISED_UDP_SIZE = 1232;
    /** The largest message a 2-byte TCP length prefix allows. */
    public static final int MAX_TCP_SIZE = 65535;

    private Wire() {}

    /** What to do with the bytes of a request. */
    public sealed interface Request {}

    /** A query to resolve. */
    public record Query(Message message) implements Request {}

    /** An answer decided from the bytes alone (FORMERR, BADVERS): send these bytes. */
    public record Reply(byte[] bytes) implements Request {}

    /** Nothing to answer: too short for a header, or a response (QR set; answering those could loop). */
    public record Drop(String why) implements Request {}

    /**
     * Reads a request.
     *
     * @param bytes a whole DNS message (a UDP payload, or a TCP message without its length prefix)
     * @return a {@link Query}; a {@link Reply} of FORMERR when the header is readable but the rest is not, or
     *         BADVERS when the OPT record's version is not 0; a {@link Drop} otherwise
     */
    public static Request parse(byte[] bytes) {
        if (bytes.length < 12) return new Drop("shorter than a DNS header");
        Header h;
        try {
            h = new Header(bytes);
        } catch (IOException e) {
            return new Drop("unreadable header");
        }
        if (h.getFlag(Flags.QR)) return new Drop("a response, not a query");
        Message m;
        try {
            m = new Message(bytes);
        } catch (IOException | RuntimeException e) {
            Message r = new Message(h.getID());
            r.getHeader().setFlag(Flags.QR);
            r.getHeader().setOpcode(h.getOpcode());
            r.getHeader().setRcode(Rcode.FORMERR);
            return new Reply(r.toWire());
        }
        OPTRecord opt = m.getOPT();
        if (opt != null && opt.getVersion() != 0) {
            Message r = new Message(h.getID());
            r.getHeader().setFlag(Flags.QR);
            r.getHeader().setOpcode(h.getOpcode());
            if (h.getFlag(Flags.RD)) r.getHeader().setFlag(Flags.RD);
            Record q = m.getQuestion();
            if (q != null) r.addRecord(q, Section.QUESTION);
            // BADVERS is 16: 0 in the header's 4 bits, 1 in the OPT record's upper 8.
            r.addRecord(new OPTRecord(ADVERTISED_UDP_SIZE, Rcode.BADVERS >> 4, 0, 0), Section.ADDITIONAL);
            return new Reply(r.toWire());
        }
        return new Query(m);
    }

    /**
     * The largest UDP response a query may get: its OPT record's payload size within
     * [{@value #MIN_UDP_SIZE}, {@value #MAX_UDP_SIZE}] bytes, or {@value #MIN_UDP_SIZE} without OPT.
     */
    public static int udpLimit(Message query) {
        OPTRecord opt = query.getOPT();
        if (opt == null) return MIN_UDP_SIZE;
        return Math.clamp(opt.getPayloadSize(), MIN_UDP_SIZE, MAX_UDP_SIZE);
    }

    /**
     * The bytes of a response: with an OPT record when the query had one, and truncated (TC set, question and OPT
     * only) when longer than the limit.
     *
     * @param response the resolver's response, without OPT record (not modified)
     * @param query the query it answers
     * @param limit the largest size in bytes ({@link #udpLimit} or {@link #MAX_TCP_SIZE})
     */
    public static byte[] encode(Message response, Message query, int limit) {
        byte[] wire = withOpt(copy(response, true), query).toWire();
        if (wire.length <= limit) return wire;
        Message t = copy(response, false);
        t.getHeader().setFlag(Flags.TC);
        return withOpt(t, query).toWire();
    }

    private static Message withOpt(Message m, Message query) {
        if (query.getOPT() != null) m.addRecord(new OPTRecord(ADVERTISED_UDP_SIZE, 0, 0, 0), Section.ADDITIONAL);
        return m;
    }

    /** The header (ID, opcode, flags, rcode) and question of a message; its other sections too when {@code records}. */
    private static Message copy(Message m, boolean records) {
        Message out = new Message(m.getHeader().getID());
        Header h = m.getHeader();
        out.getHeader().setOpcode(h.getOpcode());
        out.getHeader().setRcode(h.getRcode());
        for (int flag : new int[] {Flags.QR, Flags.AA, Flags.TC, Flags.RD, Flags.RA, Flags.AD, Flags.CD}) {
            if (h.getFlag(flag)) out.getHeader().setFlag(flag);
        }
        for (Record q : m.getSection(Section.QUESTION)) out.addRecord(q, Section.QUESTION);
        if (records) {
            for (int s : new int[] {Section.ANSWER, Section.AUTHORITY, Section.ADDITIONAL}) {
                for (Record r : m.getSection(s)) out.addRecord(r, s);
            }
        }
        return out;
    }
}
