package io.wiremesh.bench;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import com.kenai.jffi.MemoryIO;
import io.wiremesh.wireguard.linux.LibC;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.*;

/**
 * The cost of one system call from the datapath through each foreign-function layer, same run:
 * write(2) of a 1,420-byte direct buffer to /dev/null through jnr-ffi (the datapath's socket and TUN
 * calls) and through java.lang.foreign (a plain and a "critical" downcall with the buffer's raw
 * address). The kernel's part is the same for all three, so the differences are the layers'.
 * Run: java -jar bench/target/benchmarks.jar FfiBenchmark
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
public class FfiBenchmark {
    private int fd;
    private ByteBuffer buf;
    private long address;
    private MethodHandle write, writeCritical;

    @Setup
    public void setup() {
        fd = LibC.INSTANCE.open("/dev/null", LibC.O_RDWR);
        buf = ByteBuffer.allocateDirect(1420);
        address = MemoryIO.getInstance().getDirectBufferAddress(buf);
        Linker l = Linker.nativeLinker();
        var sym = l.defaultLookup().find("write").orElseThrow();
        FunctionDescriptor fdesc = FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG);
        write = l.downcallHandle(sym, fdesc);
        writeCritical = l.downcallHandle(sym, fdesc, Linker.Option.critical(false));
    }

    @TearDown
    public void tearDown() {
        LibC.INSTANCE.close(fd);
    }

    @Benchmark
    public long jnrWrite() {
        buf.clear();
        return LibC.INSTANCE.write(fd, buf, 1420);
    }

    @Benchmark
    public long foreignWrite() throws Throwable {
        return (long) write.invokeExact(fd, address, 1420L);
    }

    @Benchmark
    public long foreignCriticalWrite() throws Throwable {
        return (long) writeCritical.invokeExact(fd, address, 1420L);
    }
}
