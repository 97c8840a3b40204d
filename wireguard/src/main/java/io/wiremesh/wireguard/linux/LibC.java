package io.wiremesh.wireguard.linux;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import java.nio.ByteBuffer;

/** The few libc calls the datapath needs (TUN device, socket options), bound through jnr-ffi. */
public interface LibC {
    int O_RDONLY = 0;
    int O_RDWR = 2;
    int O_NONBLOCK = 0x800;
    int O_CLOEXEC = 0x80000;
    int F_GETFL = 3;
    int F_SETFL = 4;
    int AF_INET = 2;
    int SOCK_DGRAM = 2;
    int EAGAIN = 11;
    int EINTR = 4;
    short POLLIN = 1;
    int SOL_SOCKET = 1;
    int SO_MARK = 36;
    int SO_RCVTIMEO = 20;
    int AF_NETLINK = 16;
    int SOCK_RAW = 3;
    int SOCK_CLOEXEC = 0x80000;
    int NETLINK_ROUTE = 0;
    int CLONE_NEWNET = 0x40000000;
    int AF_UNIX = 1;
    int SOCK_STREAM = 1;
    /** cmsg_type of descriptors passed over a unix socket (unix(7)). */
    int SCM_RIGHTS = 1;
    int SO_SNDTIMEO = 21;
    /** recvmsg flag: descriptors received are close-on-exec. */
    int MSG_CMSG_CLOEXEC = 0x40000000;

    int open(String path, int flags);

    int close(int fd);

    int ioctl(int fd, long request, Pointer arg);

    /** ioctl(2) whose argument is a value, not a pointer (TUNSETOFFLOAD). */
    int ioctl(int fd, long request, long arg);

    int fcntl(int fd, int cmd, int arg);

    long read(int fd, @Out ByteBuffer buf, long count);

    long write(int fd, @In ByteBuffer buf, long count);

    int socket(int domain, int type, int protocol);

    int poll(Pointer fds, long nfds, int timeoutMs);

    int setsockopt(int fd, int level, int optname, Pointer optval, int optlen);

    int bind(int fd, Pointer addr, int addrlen);

    int connect(int fd, Pointer addr, int addrlen);

    int listen(int fd, int backlog);

    int accept4(int fd, Pointer addr, Pointer addrlen, int flags);

    long send(int fd, @In ByteBuffer buf, long len, int flags);

    long recv(int fd, @Out ByteBuffer buf, long len, int flags);

    long recvmsg(int fd, Pointer msg, int flags);

    long sendmsg(int fd, Pointer msg, int flags);

    int recvmmsg(int fd, Pointer msgvec, int vlen, int flags, Pointer timeout);

    int sendmmsg(int fd, Pointer msgvec, int vlen, int flags);

    int shutdown(int fd, int how);

    int getsockname(int fd, Pointer addr, Pointer addrlen);

    int setns(int fd, int nstype);

    int unshare(int flags);

    int getpid();

    String strerror(int errno);

    LibC INSTANCE = LibraryLoader.create(LibC.class).load("c");

    static Runtime runtime() {
        return Runtime.getRuntime(INSTANCE);
    }

    static int errno() {
        return jnr.ffi.LastError.getLastError(runtime());
    }
}
