package io.rehearsal.schemas;

import static org.assertj.core.api.Assertions.assertThatCode;

import io.rehearsal.schemas.avro.Sample;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Whatever bytes arrive, the input decoders either return a valid record or throw RecordDecodeException. */
class DecoderPropertiesTest {
    private static final byte[] VALID = InputSerde.samples().encode(Fixtures.sample());

    @Property(tries = 2000)
    void randomBytesNeverEscapeAsAnythingButRecordDecodeException(@ForAll("garbage") byte[] bytes) {
        assertThatCode(() -> decodeOrRefuse(bytes)).doesNotThrowAnyException();
    }

    @Property(tries = 2000)
    void mutatedValidRecordsNeverEscapeAsAnythingButRecordDecodeException(@ForAll("mutations") byte[] bytes) {
        assertThatCode(() -> decodeOrRefuse(bytes)).doesNotThrowAnyException();
    }

    @Provide
    Arbitrary<byte[]> garbage() {
        Arbitrary<byte[]> random = Arbitraries.bytes().array(byte[].class).ofMaxSize(256);
        Arbitrary<byte[]> withMarker = random.map(b -> {
            byte[] out = new byte[b.length + 10];
            out[0] = (byte) 0xC3;
            out[1] = 0x01;
            System.arraycopy(VALID, 2, out, 2, 8); // a known fingerprint, then garbage
            System.arraycopy(b, 0, out, 10, b.length);
            return out;
        });
        Arbitrary<byte[]> json = Arbitraries.strings().ofMaxLength(120).map(s -> JsonCodec.bytes("{" + s));
        return Arbitraries.oneOf(random, withMarker, json);
    }

    @Provide
    Arbitrary<byte[]> mutations() {
        return Arbitraries.integers().between(0, VALID.length - 1).list().ofMinSize(1).ofMaxSize(4)
                .flatMap(positions -> Arbitraries.bytes().list().ofSize(positions.size()).map(values -> {
                    byte[] out = VALID.clone();
                    for (int i = 0; i < positions.size(); i++) {
                        out[positions.get(i)] = values.get(i);
                    }
                    return out;
                }));
    }

    private static void decodeOrRefuse(byte[] bytes) {
        try {
            Sample s = InputSerde.samples().decode(bytes);
            FeatureTensor.validate(s.getFeatures(), s.getId()); // a decoded sample is always valid
        } catch (RecordDecodeException expected) {
            // refused with a named reason: fine
        }
    }
}
