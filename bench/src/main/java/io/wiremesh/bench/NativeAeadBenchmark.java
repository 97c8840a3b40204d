package io.wiremesh.bench;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.wiremesh.wireguard.crypto.ChaChaPoly;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import io.wiremesh.wireguard.crypto.SessionKey;
import org.openjdk.jmh.annotations.*;

/**
 * Transport AEAD on one packet, same run: the JDK 25 cipher, the datapath's OpenSSL one
 * ({@code OpenSslChaChaPoly}), and raw calls to libsodium's
 * ChaCha20-Poly1305 (IETF) and OpenSSL 3's EVP chacha20-poly1305, both called through Java's
 * foreign-function API (critical downcalls, raw addresses of direct buffers: nothing allocated per
 * call). Run: bench/aead.sh NativeAeadBenchmark.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
public class NativeAeadBenchmark {
    @Param({"1420"})
    int size;

    private static final Linker LINKER = Linker.nativeLinker();
    private final byte[] key = new byte[32];
    private ChaChaPoly jdk;
    private SessionKey keySpec;
    private ByteBuffer buf, view;
    private long counter;
    private final Arena arena = Arena.ofConfined();
    private MemorySegment scratch; // key 32, nonce 12 (+4), outl 8, tag 16
    private long bufAddr, keyAddr, nonceAddr, outlAddr;

    private MethodHandle sodiumSeal;
    private MethodHandle evpInit, evpUpdate, evpFinal, evpCtrl;
    private long ctx;

    private static MethodHandle find(SymbolLookup lib, String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(lib.find(name).orElseThrow(), fd, Linker.Option.critical(false));
    }

    @Setup
    public void setup() throws Throwable {
        new java.util.Random(1).nextBytes(key);
        jdk = new ChaChaPoly();
        keySpec = ChaChaPoly.key(key);
        buf = ByteBuffer.allocateDirect(size + 64);
        view = buf.duplicate();
        bufAddr = MemorySegment.ofBuffer(buf).address();
        scratch = arena.allocate(128, 16);
        keyAddr = scratch.address();
        nonceAddr = keyAddr + 32;
        outlAddr = keyAddr + 48;
        MemorySegment.copy(MemorySegment.ofArray(key), 0, scratch, 0, 32);

        SymbolLookup sodium = SymbolLookup.libraryLookup("libsodium.so.23", Arena.global());
        int r = (int) LINKER.downcallHandle(sodium.find("sodium_init").orElseThrow(), FunctionDescriptor.of(JAVA_INT)).invokeExact();
        if (r < 0) throw new IllegalStateException("sodium_init");
        // int crypto_aead_chacha20poly1305_ietf_encrypt(c, clen_p, m, mlen, ad, adlen, nsec, npub, k)
        sodiumSeal = find(sodium, "crypto_aead_chacha20poly1305_ietf_encrypt", FunctionDescriptor.of(JAVA_INT,
                JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));

        SymbolLookup crypto = SymbolLookup.libraryLookup("libcrypto.so.3", Arena.global());
        long cipher = (long) LINKER.downcallHandle(crypto.find("EVP_chacha20_poly1305").orElseThrow(), FunctionDescriptor.of(JAVA_LONG)).invokeExact();
        ctx = (long) LINKER.downcallHandle(crypto.find("EVP_CIPHER_CTX_new").orElseThrow(), FunctionDescriptor.of(JAVA_LONG)).invokeExact();
        evpInit = find(crypto, "EVP_EncryptInit_ex", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        evpUpdate = find(crypto, "EVP_EncryptUpdate", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT));
        evpFinal = find(crypto, "EVP_EncryptFinal_ex", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        evpCtrl = find(crypto, "EVP_CIPHER_CTX_ctrl", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG));
        if ((int) evpInit.invokeExact(ctx, cipher, 0L, keyAddr, nonceAddr) != 1) throw new IllegalStateException("EVP init");
    }

    @TearDown
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public int jdkSeal() {
        view.limit(16 + size).position(16);
        buf.limit(buf.capacity()).position(16);
        return jdk.seal(keySpec, ++counter, view, buf);
    }

    private io.wiremesh.wireguard.crypto.OpenSslChaChaPoly product;

    /** The datapath's OpenSSL AEAD (key and nonce set per packet, as on the data path). */
    @Benchmark
    public int datapathOpenSslSeal() {
        if (product == null) product = new io.wiremesh.wireguard.crypto.OpenSslChaChaPoly();
        view.limit(16 + size).position(16);
        buf.limit(buf.capacity()).position(16);
        return product.seal(keySpec, ++counter, view, buf);
    }

    @Benchmark
    public int sodiumSeal() throws Throwable {
        scratch.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 36, ++counter);
        long p = bufAddr + 16;
        return (int) sodiumSeal.invokeExact(p, 0L, p, (long) size, 0L, 0L, 0L, nonceAddr, keyAddr);
    }

    @Benchmark
    public int opensslSeal() throws Throwable {
        scratch.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 36, ++counter);
        long p = bufAddr + 16;
        int ok = (int) evpInit.invokeExact(ctx, 0L, 0L, 0L, nonceAddr);
        ok &= (int) evpUpdate.invokeExact(ctx, p, outlAddr, p, size);
        ok &= (int) evpFinal.invokeExact(ctx, p + size, outlAddr);
        ok &= (int) evpCtrl.invokeExact(ctx, 0x10, 16, p + size);
        return ok;
    }
}
