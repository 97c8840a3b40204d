package io.wiremesh.node.netlink;

import java.io.IOException;

/** A netlink request the kernel refused; {@link #errno} is positive (EEXIST = 17, ENODEV = 19, ...). */
public final class NetlinkException extends IOException {
    public static final int ENOENT = 2;
    public static final int ESRCH = 3;
    public static final int EEXIST = 17;
    public static final int ENODEV = 19;
    public static final int EADDRNOTAVAIL = 99;

    public final int errno;

    public NetlinkException(String what, int errno) {
        super(what + ": " + io.wiremesh.wireguard.linux.LibC.INSTANCE.strerror(errno) + " (errno " + errno + ")");
        this.errno = errno;
    }
}
