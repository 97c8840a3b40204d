package io.wiremesh.node.netlink;

import io.wiremesh.wireguard.linux.LibC;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * Work inside another network namespace. setns(2) changes only the calling OS thread, so each call
 * runs on a fresh platform thread (never a virtual thread, which could move between carriers).
 */
public final class NetNs {
    private NetNs() {}

    /** Runs {@code task} with the calling thread moved into the namespace at {@code path} (e.g. /var/run/netns/x). */
    public static <T> T run(Path path, Callable<T> task) throws IOException {
        if (!Files.exists(path)) throw new NoSuchNamespaceException(path);
        FutureTask<T> f = new FutureTask<>(() -> {
            int fd = LibC.INSTANCE.open(path.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC);
            if (fd < 0) throw new NoSuchNamespaceException(path);
            try {
                if (LibC.INSTANCE.setns(fd, LibC.CLONE_NEWNET) < 0) {
                    throw new IOException("setns " + path + ": " + LibC.INSTANCE.strerror(LibC.errno()));
                }
            } finally {
                LibC.INSTANCE.close(fd);
            }
            return task.call();
        });
        Thread t = Thread.ofPlatform().name("netns").start(f);
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) throw io;
            throw new IOException(e.getCause());
        } finally {
            t.interrupt();
        }
    }

    /** Opens a namespace file and returns its fd (for IFLA_NET_NS_FD); the caller closes it. */
    public static int openFd(Path path) throws IOException {
        int fd = LibC.INSTANCE.open(path.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC);
        if (fd < 0) throw new NoSuchNamespaceException(path);
        return fd;
    }

    public static void closeFd(int fd) {
        LibC.INSTANCE.close(fd);
    }

    /** The namespace path does not exist (any more). */
    public static final class NoSuchNamespaceException extends IOException {
        public NoSuchNamespaceException(Path p) {
            super("network namespace " + p + " does not exist");
        }
    }
}
