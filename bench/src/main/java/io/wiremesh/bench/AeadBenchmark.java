package io.wiremesh.bench;

import io.wiremesh.wireguard.crypto.ChaChaPoly;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import io.wiremesh.wireguard.crypto.SessionKey;
import org.bouncycastle.crypto.modes.ChaCha20Poly1305;
import org.bouncycastle.crypto.params.AEADParameters;
import org.bouncycastle.crypto.params.KeyParameter;
import org.openjdk.jmh.annotations.*;

/**
 * Transport AEAD on one MTU-sized packet: the JDK 25 ChaCha20-Poly1305 cipher (what the datapath
 * uses, in place on direct buffers) against BouncyCastle's lightweight ChaCha20Poly1305.
 * Run: bench/aead.sh (reports ns/op; with -prof gc, bytes allocated per packet).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
public class AeadBenchmark {
    @Param({"1420"})
    int size;

    private final byte[] key = new byte[32];
    private ChaChaPoly jdk;
    private SessionKey keySpec;
    private ByteBuffer buf;
    private ByteBuffer view;
    private ByteBuffer sealed;
    private ByteBuffer sealedView;
    private int sealedLen;
    private long counter;

    private ChaCha20Poly1305 bc;
    private byte[] plain;
    private byte[] out;
    private byte[] bcSealed;
    private final byte[] nonce = new byte[12];

    @Setup
    public void setup() throws Exception {
        new java.util.Random(1).nextBytes(key);
        jdk = new ChaChaPoly();
        keySpec = ChaChaPoly.key(key);
        buf = ByteBuffer.allocateDirect(size + 64);
        view = buf.duplicate();
        sealed = ByteBuffer.allocateDirect(size + 64);
        sealedView = sealed.duplicate();
        view.limit(16 + size).position(16);
        sealed.limit(sealed.capacity()).position(16);
        sealedLen = jdk.seal(keySpec, 7, view, sealed);
        bc = new ChaCha20Poly1305();
        plain = new byte[size];
        out = new byte[size + 16];
        bcSealed = new byte[size + 16];
        bc.init(true, new AEADParameters(new KeyParameter(key), 128, nonce));
        int n = bc.processBytes(plain, 0, size, bcSealed, 0);
        bc.doFinal(bcSealed, n);
    }

    @Benchmark
    public int jdkSealInPlaceDirect() {
        view.limit(16 + size).position(16);
        buf.limit(buf.capacity()).position(16);
        return jdk.seal(keySpec, ++counter, view, buf);
    }

    @Benchmark
    public int jdkOpenDirect() {
        sealedView.limit(16 + sealedLen).position(16);
        buf.limit(buf.capacity()).position(16);
        return jdk.open(keySpec, 7, sealedView, buf);
    }

    private ByteBuffer heap;
    private ByteBuffer heapView;
    private ByteBuffer heapSealed;
    private ByteBuffer heapSealedView;

    @Setup
    public void setupHeap() {
        heap = ByteBuffer.allocate(size + 64);
        heapView = heap.duplicate();
        heapSealed = ByteBuffer.allocate(size + 64);
        heapSealedView = heapSealed.duplicate();
        heapView.limit(16 + size).position(16);
        heapSealed.limit(heapSealed.capacity()).position(16);
        jdk.seal(keySpec, 8, heapView, heapSealed);
    }

    @Benchmark
    public int jdkSealInPlaceHeap() {
        heapView.limit(16 + size).position(16);
        heap.limit(heap.capacity()).position(16);
        return jdk.seal(keySpec, ++counter, heapView, heap);
    }

    @Benchmark
    public int jdkSealHeapToOtherHeap() {
        heapView.limit(16 + size).position(16);
        heapSealed.limit(heapSealed.capacity()).position(16);
        return jdk.seal(keySpec, ++counter, heapView, heapSealed);
    }

    @Benchmark
    public int jdkSealDirectToOtherDirect() {
        view.limit(16 + size).position(16);
        sealed.limit(sealed.capacity()).position(16);
        return jdk.seal(keySpec, ++counter, view, sealed);
    }

    @Benchmark
    public int jdkOpenHeap() {
        heapSealedView.limit(16 + sealedLen).position(16);
        heap.limit(heap.capacity()).position(16);
        return jdk.open(keySpec, 8, heapSealedView, heap);
    }

    @Benchmark
    public int bouncyCastleSeal() throws Exception {
        nonce[4] = (byte) ++counter;
        nonce[5] = (byte) (counter >>> 8);
        bc.init(true, new AEADParameters(new KeyParameter(key), 128, nonce));
        int n = bc.processBytes(plain, 0, size, out, 0);
        return n + bc.doFinal(out, n);
    }

    @Benchmark
    public int bouncyCastleOpen() throws Exception {
        java.util.Arrays.fill(nonce, (byte) 0);
        bc.init(false, new AEADParameters(new KeyParameter(key), 128, nonce));
        int n = bc.processBytes(bcSealed, 0, bcSealed.length, out, 0);
        return n + bc.doFinal(out, n);
    }
}
