//! The checked-in `src/ecr/generated.rs` must be exactly what the generator
//! makes of the checked-in model: edit the model or the generator, then run
//! `api-models/regenerate`, never the generated file.

#[path = "../codegen/src/lib.rs"]
mod codegen;

const MODEL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/api-models/ecr-2015-09-21.json"
);
const GENERATED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/ecr/generated.rs");

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

#[test]
fn generated_code_is_current() {
    let expected = codegen::generate(&read(MODEL));
    let actual = read(GENERATED);
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(e, a)| e != a)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()))
            + 1;
        panic!(
            "src/ecr/generated.rs is not what codegen makes of api-models/ecr-2015-09-21.json \
             (first difference at line {line}); run api-models/regenerate"
        );
    }
}

#[test]
fn generation_is_deterministic() {
    let model = read(MODEL);
    assert_eq!(codegen::generate(&model), codegen::generate(&model));
}

#[test]
fn model_has_all_58_operations() {
    let model: serde_json::Value = serde_json::from_str(&read(MODEL)).expect("model is JSON");
    let ops = model["operations"].as_object().expect("operations object");
    assert_eq!(
        ops.len(),
        58,
        "ECR 2015-09-21 (botocore 1.43.11) has 58 operations"
    );
    assert_eq!(model["source"]["botocore"], "1.43.11");
    assert_eq!(
        model["metadata"]["targetPrefix"],
        "AmazonEC2ContainerRegistry_V20150921"
    );
    // Facts only: no prose made it into the model file.
    let text = read(MODEL);
    for prose in [
        "\"documentation\"",
        "\"documentationUrl\"",
        "\"deprecatedMessage\"",
        "\"examples\"",
    ] {
        assert!(!text.contains(prose), "model contains {prose}");
    }
}
