package io.wiremesh.clusterdns;

import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * Turns a parsed query into a response: names of the cluster zone from the current {@link Zone}
 * (authoritative, AA set), everything else from the {@link Upstream} (SERVFAIL when it has no answer).
 * A CNAME of the zone (an ExternalName Service) is followed, up to {@value #MAX_CNAME_HOPS} links, in the zone or
 * upstream, and the target's records appended, as CoreDNS does; when the target has no answer the CNAME is
 * answered alone. Wire concerns (EDNS0, sizes, truncation) are {@link Wire}'s.
 * <ul>
 *   <li>opcode other than QUERY: NOTIMP (RFC 1035 §4.1.1);</li>
 *   <li>not exactly one question: FORMERR;</li>
 *   <li>class other than IN (or ANY), or a zone transfer (AXFR, IXFR): REFUSED.</li>
 * </ul>
 */
public final class Resolver {
    /** The longest CNAME chain followed. */
    public static final int MAX_CNAME_HOPS = 8;

    private final Supplier<Zone> zone;
    private final Upstream upstream;
    private final boolean recursionAvailable;

    /**
     * @param zone the current zone (read once per query)
     * @param upstream where other names go; {@link Upstream#NONE} for none
     * @param recursionAvailable whether responses say RA (true when upstream servers are configured)
     */
    public Resolver(Supplier<Zone> zone, Upstream upstream, boolean recursionAvailable) {
        this.zone = zone;
        this.upstream = upstream;
        this.recursionAvailable = recursionAvailable;
    }

    /**
     * The response to a query, without OPT record (see {@link Wire#encode}).
     *
     * @param query a parsed message with QR clear
     * @return a response with the query's ID, opcode, RD flag and question
     */
    public Message resolve(Message query) {
        Message r = new Message(query.getHeader().getID());
        r.getHeader().setFlag(Flags.QR);
        r.getHeader().setOpcode(query.getHeader().getOpcode());
        if (query.getHeader().getFlag(Flags.RD)) r.getHeader().setFlag(Flags.RD);
        if (recursionAvailable) r.getHeader().setFlag(Flags.RA);
        List<Record> questions = query.getSection(Section.QUESTION);
        if (query.getHeader().getOpcode() != Opcode.QUERY) return rcode(r, Rcode.NOTIMP);
        if (questions.size() != 1) return rcode(r, Rcode.FORMERR);
        Record q = questions.getFirst();
        r.addRecord(q, Section.QUESTION);
        if ((q.getDClass() != DClass.IN && q.getDClass() != DClass.ANY) || q.getType() == Type.AXFR || q.getType() == Type.IXFR) {
            return rcode(r, Rcode.REFUSED);
        }
        Zone z = zone.get();
        Zone.Answer a = z.answer(q.getName(), q.getType());
        if (!a.authoritative()) return forwarded(r, query, q);
        r.getHeader().setFlag(Flags.AA);
        r.getHeader().setRcode(a.rcode());
        for (Record rec : a.answer()) r.addRecord(rec, Section.ANSWER);
        for (Record rec : a.authority()) r.addRecord(rec, Section.AUTHORITY);
        for (Record rec : a.additional()) r.addRecord(rec, Section.ADDITIONAL);
        if (q.getType() != Type.CNAME && q.getType() != Type.ANY) follow(r, z, a, q, query);
        return r;
    }

    /** Follows a CNAME answer: the target's records of the same type are appended, with the target's rcode and authority. */
    private void follow(Message r, Zone z, Zone.Answer a, Record q, Message query) {
        int qtype = q.getType();
        Set<Name> seen = new HashSet<>(Set.of(q.getName()));
        List<Record> answer = a.answer();
        for (int hop = 0; hop < MAX_CNAME_HOPS; hop++) {
            if (answer.isEmpty() || !(answer.getLast() instanceof CNAMERecord cname)) return;
            Name target = cname.getTarget();
            if (!seen.add(target)) return; // a loop
            Zone.Answer next = z.answer(target, qtype);
            if (next.authoritative()) {
                for (Record rec : next.answer()) r.addRecord(rec, Section.ANSWER);
                r.removeAllRecords(Section.AUTHORITY);
                for (Record rec : next.authority()) r.addRecord(rec, Section.AUTHORITY);
                r.getHeader().setRcode(next.rcode());
                answer = next.answer();
                continue;
            }
            Optional<Message> up = upstream.exchange(question(target, qtype, query));
            if (up.isEmpty()) return;
            for (Record rec : up.get().getSection(Section.ANSWER)) r.addRecord(rec, Section.ANSWER);
            for (Record rec : up.get().getSection(Section.AUTHORITY)) r.addRecord(rec, Section.AUTHORITY);
            r.getHeader().setRcode(up.get().getHeader().getRcode());
            return;
        }
    }

    /** The upstream's response under the client's ID, without the upstream's OPT; SERVFAIL when there is none. */
    private Message forwarded(Message r, Message query, Record q) {
        Optional<Message> up = upstream.exchange(question(q.getName(), q.getType(), query));
        if (up.isEmpty()) return rcode(r, Rcode.SERVFAIL);
        Message u = up.get();
        for (int flag : new int[] {Flags.AA, Flags.TC, Flags.AD, Flags.CD}) {
            if (u.getHeader().getFlag(flag)) r.getHeader().setFlag(flag);
        }
        r.getHeader().setFlag(Flags.RA);
        r.getHeader().setRcode(u.getHeader().getRcode());
        for (int section : new int[] {Section.ANSWER, Section.AUTHORITY, Section.ADDITIONAL}) {
            for (Record rec : u.getSection(section)) {
                if (rec.getType() != Type.OPT) r.addRecord(rec, section);
            }
        }
        return r;
    }

    /**
     * The query sent upstream for a name and type: RD and CD as the client asked, an OPT record with
     * {@value Wire#ADVERTISED_UDP_SIZE} bytes of UDP payload and the client's DO bit (the upstream may answer in
     * full; the answer is fitted to the client later).
     */
    static Message question(Name name, int type, Message client) {
        Message m = Message.newQuery(Record.newRecord(name, type, DClass.IN));
        if (!client.getHeader().getFlag(Flags.RD)) m.getHeader().unsetFlag(Flags.RD);
        if (client.getHeader().getFlag(Flags.CD)) m.getHeader().setFlag(Flags.CD);
        OPTRecord opt = client.getOPT();
        int doBit = opt != null ? opt.getFlags() & org.xbill.DNS.ExtendedFlags.DO : 0;
        m.addRecord(new OPTRecord(Wire.ADVERTISED_UDP_SIZE, 0, 0, doBit), Section.ADDITIONAL);
        return m;
    }

    private static Message rcode(Message r, int rcode) {
        r.getHeader().setRcode(rcode);
        return r;
    }
}
