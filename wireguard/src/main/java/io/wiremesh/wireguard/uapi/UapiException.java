package io.wiremesh.wireguard.uapi;

/** A failed UAPI request; {@link #errno} is the negative errno reported to the client, as wireguard-go does. */
public final class UapiException extends Exception {
    public static final int EIO = -5;
    /** The device was handed over to a successor process (it serves the interface now). */
    public static final int EBUSY = -16;
    public static final int EINVAL = -22;
    public static final int EPROTO = -71;
    public static final int EADDRINUSE = -98;

    public final int errno;

    public UapiException(int errno, String message) {
        super(message);
        this.errno = errno;
    }
}
