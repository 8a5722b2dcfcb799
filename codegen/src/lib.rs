//! Generates the Rust side of the ECR API (`src/ecr/generated.rs`) from the
//! facts-only model in `api-models/ecr-2015-09-21.json`.
//!
//! [`generate`] is a pure function of the model text: the same model always
//! gives byte-identical output, which `tests/generated_is_current.rs` in the
//! root crate checks. That test includes this file with `#[path]`, so it may
//! only use `serde_json` and `std`.
//!
//! The output is organised in sections, each emitted by one function below:
//! header, error codes, operations, string enums, structures, validation, the
//! `EcrApi` trait, `dispatch`, the validation helpers and a small test module.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Appends one formatted line to a `String` (writing to a `String` cannot fail).
macro_rules! emit {
    ($out:expr) => {
        $out.push('\n')
    };
    ($out:expr, $($arg:tt)*) => {{
        let _ = writeln!($out, $($arg)*);
    }};
}

/// Generates `src/ecr/generated.rs` from the JSON text of the model.
///
/// Panics with a descriptive message when the model uses something this
/// generator has not been taught (an unknown shape type, a recursive structure,
/// a name that cannot be mapped to Rust): regenerating is a developer action,
/// and failing loudly beats generating subtly wrong code.
pub fn generate(model_json: &str) -> String {
    let model = Model::parse(model_json);
    let gen = Gen::new(&model);

    // Sections are generated first and the header last: which `use` lines and
    // helper functions are needed depends on what the sections used.
    let mut body = String::new();
    gen.error_codes(&mut body);
    gen.operations(&mut body);
    gen.enums(&mut body);
    gen.structures(&mut body);
    gen.validation(&mut body);
    gen.api_trait(&mut body);
    gen.dispatch(&mut body);
    gen.helpers(&mut body);
    gen.tests(&mut body);

    let mut out = String::new();
    gen.header(&mut out);
    out.push_str(&body);
    out
}

// ---------------------------------------------------------------------------
// The model, as far as code generation is concerned.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Structure,
    String,
    Integer,
    Long,
    Boolean,
    Float,
    Double,
    Timestamp,
    Blob,
    List,
    Map,
}

#[derive(Debug)]
struct Member {
    /// The JSON name, exactly as on the wire.
    name: String,
    target: String,
    deprecated: bool,
}

#[derive(Debug)]
struct Shape {
    name: String,
    kind: Kind,
    /// Structure members, sorted by JSON name (the model file is key-sorted, so
    /// the original member order is not available; sorting keeps output stable).
    members: Vec<Member>,
    /// Required members, in model order.
    required: Vec<String>,
    /// String enum values, in model order (ECR's error message lists them so).
    enum_values: Vec<String>,
    min: Option<i64>,
    max: Option<i64>,
    pattern: Option<String>,
    /// List member / map key / map value target shapes.
    list_member: Option<String>,
    map_key: Option<String>,
    map_value: Option<String>,
    exception: bool,
    fault: bool,
    http_status: Option<i64>,
}

#[derive(Debug)]
struct Op {
    name: String,
    input: Option<String>,
    output: Option<String>,
    errors: Vec<String>,
}

#[derive(Debug)]
struct Model {
    source: String,
    api_version: String,
    json_version: String,
    service_id: String,
    signing_name: String,
    target_prefix: String,
    /// Sorted by name.
    operations: Vec<Op>,
    shapes: BTreeMap<String, Shape>,
}

fn str_field(v: &Value, key: &str, ctx: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{ctx}: missing string field {key:?}"))
        .to_owned()
}

fn int_field(v: &Value, key: &str, ctx: &str) -> Option<i64> {
    v.get(key).map(|x| {
        x.as_i64()
            .unwrap_or_else(|| panic!("{ctx}: {key:?} is not an integer: {x}"))
    })
}

fn shape_ref(v: &Value, key: &str, ctx: &str) -> Option<String> {
    v.get(key)
        .map(|r| str_field(r, "shape", &format!("{ctx}.{key}")))
}

impl Model {
    fn parse(json: &str) -> Model {
        let root: Value = serde_json::from_str(json).expect("model is not valid JSON");
        let meta = root.get("metadata").expect("model has no metadata");
        let source = match root.get("source").and_then(|s| s.get("botocore")) {
            Some(Value::String(v)) => format!("botocore {v}"),
            _ => "an unknown source".to_owned(),
        };

        let mut shapes = BTreeMap::new();
        for (name, s) in root["shapes"].as_object().expect("model has no shapes") {
            shapes.insert(name.clone(), Shape::parse(name, s));
        }

        let mut operations = Vec::new();
        for (name, o) in root["operations"]
            .as_object()
            .expect("model has no operations")
        {
            let ctx = format!("operation {name}");
            let errors = match o.get("errors") {
                None => Vec::new(),
                Some(list) => list
                    .as_array()
                    .unwrap_or_else(|| panic!("{ctx}: errors is not a list"))
                    .iter()
                    .map(|e| str_field(e, "shape", &ctx))
                    .collect(),
            };
            operations.push(Op {
                name: name.clone(),
                input: shape_ref(o, "input", &ctx),
                output: shape_ref(o, "output", &ctx),
                errors,
            });
        }
        operations.sort_by(|a, b| a.name.cmp(&b.name));

        let model = Model {
            source,
            api_version: str_field(meta, "apiVersion", "metadata"),
            json_version: str_field(meta, "jsonVersion", "metadata"),
            service_id: str_field(meta, "serviceId", "metadata"),
            signing_name: str_field(meta, "signingName", "metadata"),
            target_prefix: str_field(meta, "targetPrefix", "metadata"),
            operations,
            shapes,
        };
        model.check_references();
        model
    }

    fn shape(&self, name: &str) -> &Shape {
        self.shapes
            .get(name)
            .unwrap_or_else(|| panic!("reference to unknown shape {name}"))
    }

    fn check_references(&self) {
        for op in &self.operations {
            for r in op.input.iter().chain(&op.output).chain(&op.errors) {
                self.shape(r);
            }
            for e in &op.errors {
                assert!(
                    self.shape(e).exception,
                    "operation {}: error {e} is not an exception shape",
                    op.name
                );
            }
        }
        for s in self.shapes.values() {
            for r in s.children() {
                self.shape(r);
            }
        }
    }

    /// All shapes reachable from the given roots (the roots included).
    fn closure<'a>(&'a self, roots: impl IntoIterator<Item = &'a str>) -> BTreeSet<&'a str> {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<&str> = roots.into_iter().collect();
        while let Some(name) = todo.pop() {
            if seen.insert(name) {
                todo.extend(self.shape(name).children());
            }
        }
        seen
    }
}

impl Shape {
    fn parse(name: &str, s: &Value) -> Shape {
        let ctx = format!("shape {name}");
        let kind = match str_field(s, "type", &ctx).as_str() {
            "structure" => Kind::Structure,
            "string" => Kind::String,
            "integer" => Kind::Integer,
            "long" => Kind::Long,
            "boolean" => Kind::Boolean,
            "float" => Kind::Float,
            "double" => Kind::Double,
            "timestamp" => Kind::Timestamp,
            "blob" => Kind::Blob,
            "list" => Kind::List,
            "map" => Kind::Map,
            other => panic!("{ctx}: shape type {other:?} is not supported by codegen"),
        };
        let mut members = Vec::new();
        if let Some(ms) = s.get("members").and_then(Value::as_object) {
            for (m, r) in ms {
                members.push(Member {
                    name: m.clone(),
                    target: str_field(r, "shape", &format!("{ctx} member {m}")),
                    deprecated: r.get("deprecated").and_then(Value::as_bool) == Some(true),
                });
            }
        }
        members.sort_by(|a, b| a.name.cmp(&b.name));
        let strings = |key: &str| -> Vec<String> {
            s.get(key)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|v| {
                            v.as_str()
                                .unwrap_or_else(|| panic!("{ctx}: {key} holds a non-string"))
                                .to_owned()
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let required = strings("required");
        for r in &required {
            assert!(
                members.iter().any(|m| &m.name == r),
                "{ctx}: required member {r} does not exist"
            );
        }
        let error = s.get("error");
        Shape {
            name: name.to_owned(),
            kind,
            members,
            required,
            enum_values: strings("enum"),
            min: int_field(s, "min", &ctx),
            max: int_field(s, "max", &ctx),
            pattern: s.get("pattern").and_then(Value::as_str).map(str::to_owned),
            list_member: shape_ref(s, "member", &ctx),
            map_key: shape_ref(s, "key", &ctx),
            map_value: shape_ref(s, "value", &ctx),
            exception: s.get("exception").and_then(Value::as_bool) == Some(true),
            fault: s.get("fault").and_then(Value::as_bool) == Some(true),
            http_status: error.and_then(|e| int_field(e, "httpStatusCode", &ctx)),
        }
    }

    /// Shapes this one refers to.
    fn children(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.members.iter().map(|m| m.target.as_str()).collect();
        out.extend(self.list_member.as_deref());
        out.extend(self.map_key.as_deref());
        out.extend(self.map_value.as_deref());
        out
    }

    fn is_enum(&self) -> bool {
        self.kind == Kind::String && !self.enum_values.is_empty()
    }

    /// Faults are server-side errors (HTTP 5xx); everything else is the caller's.
    fn is_fault(&self) -> bool {
        self.fault || self.http_status.is_some_and(|s| s >= 500)
    }
}

// ---------------------------------------------------------------------------
// Naming: model names to Rust identifiers.
// ---------------------------------------------------------------------------

/// Names a generated type must not take: std prelude items (a shape called
/// `String` or `Result` would silently shadow them in the generated module) and
/// the items this module and its imports define. Clashing shapes get a `Shape`
/// suffix.
const RESERVED_TYPE_NAMES: &[&str] = &[
    "AsMut",
    "AsRef",
    "BTreeMap",
    "Blob",
    "Box",
    "Clone",
    "Copy",
    "Debug",
    "Default",
    "Deserialize",
    "Drop",
    "EcrApi",
    "EcrError",
    "Eq",
    "Err",
    "ErrorCode",
    "Extend",
    "Fn",
    "FnMut",
    "FnOnce",
    "From",
    "Future",
    "Into",
    "IntoIterator",
    "Iterator",
    "LazyLock",
    "None",
    "Ok",
    "Operation",
    "Option",
    "Ord",
    "PartialEq",
    "PartialOrd",
    "Regex",
    "Result",
    "Self",
    "Send",
    "Serialize",
    "Sized",
    "Some",
    "String",
    "Sync",
    "Timestamp",
    "ToOwned",
    "ToString",
    "Unpin",
    "Validate",
    "Vec",
];

/// Rust keywords (all editions, including reserved ones).
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Splits an identifier into words: on non-alphanumerics, at lower-to-upper
/// case changes and before the last capital of an acronym (`KMSKey` -> `KMS`,
/// `Key`).
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in s.split(|c: char| !c.is_ascii_alphanumeric()) {
        let chars: Vec<char> = part.chars().collect();
        let mut cur = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1).copied();
            let boundary = c.is_ascii_uppercase()
                && prev.is_some_and(|p| {
                    p.is_ascii_lowercase()
                        || p.is_ascii_digit()
                        || (p.is_ascii_uppercase() && next.is_some_and(|n| n.is_ascii_lowercase()))
                });
            if boundary && !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            cur.push(c);
        }
        if !cur.is_empty() {
            out.push(cur);
        }
    }
    out
}

/// `imageTagMutability` -> `image_tag_mutability`.
fn snake(s: &str) -> String {
    words(s)
        .iter()
        .map(|w| w.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("_")
}

/// `RepositoryName` -> `REPOSITORY_NAME`.
fn screaming(s: &str) -> String {
    snake(s).to_ascii_uppercase()
}

/// A struct field name: snake case, keywords made raw (`type` -> `r#type`).
fn field_name(member: &str) -> String {
    let s = snake(member);
    match s.as_str() {
        // These cannot be raw identifiers.
        "self" | "super" | "crate" => format!("{s}_"),
        _ if KEYWORDS.contains(&s.as_str()) => format!("r#{s}"),
        _ if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) => format!("m_{s}"),
        _ => s,
    }
}

/// An enum variant from a wire value: `IMMUTABLE_WITH_EXCLUSION` ->
/// `ImmutableWithExclusion`, `ecr-public` -> `EcrPublic`, `AES256` -> `Aes256`,
/// `InvalidImageDigest` stays as it is.
fn variant_name(value: &str) -> String {
    let mut out = String::new();
    for part in value.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mixed = part.chars().any(|c| c.is_ascii_lowercase())
            && part.chars().any(|c| c.is_ascii_uppercase());
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            if mixed {
                out.extend(chars);
            } else {
                out.extend(chars.map(|c| c.to_ascii_lowercase()));
            }
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    out
}

/// A Rust string literal for `s`: a raw string when possible (patterns are
/// easier to read without doubled backslashes), an escaped one otherwise.
fn str_lit(s: &str) -> String {
    if s.chars().any(|c| c.is_control()) {
        return format!("{s:?}");
    }
    let mut hashes = String::new();
    while s.contains(&format!("\"{hashes}")) {
        hashes.push('#');
    }
    if hashes.is_empty() && !s.contains('\\') {
        format!("\"{s}\"")
    } else {
        format!("r{hashes}\"{s}\"{hashes}")
    }
}

/// Model patterns are Java regular expressions. The `regex` crate accepts all
/// of ECR's as they are, with one difference in meaning that matters: Java's
/// `\w` is ASCII-only, the `regex` crate's is Unicode. Rewrite it to the ASCII
/// class. Anchoring (`^(?:...)$`) is added by the caller: ECR patterns must
/// match the whole value.
fn rust_regex(java: &str) -> String {
    let mut out = String::new();
    let mut in_class = false;
    let mut chars = java.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('w') if in_class => out.push_str("[:word:]"),
                Some('w') => out.push_str("[[:word:]]"),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The generator.
// ---------------------------------------------------------------------------

/// Which validation helpers the generated code calls (only those are emitted,
/// so that the output has no dead code).
#[derive(Default)]
struct Used {
    required: bool,
    min_length: bool,
    max_length: bool,
    min_value: bool,
    max_value: bool,
    pattern: bool,
    enumeration: bool,
}

struct Gen<'m> {
    m: &'m Model,
    /// Shapes reachable from operation inputs and outputs (exceptions are not).
    reachable: BTreeSet<&'m str>,
    /// Shapes reachable from operation inputs: these get validated.
    input_side: BTreeSet<&'m str>,
    /// Rust type names of structure and enum shapes.
    type_names: BTreeMap<&'m str, String>,
    /// Shapes whose values can fail validation (memoised over the closure).
    constrained: BTreeSet<&'m str>,
    used: std::cell::RefCell<Used>,
}

impl<'m> Gen<'m> {
    fn new(m: &'m Model) -> Gen<'m> {
        let io_roots = m
            .operations
            .iter()
            .flat_map(|o| o.input.iter().chain(&o.output))
            .map(String::as_str);
        let reachable = m.closure(io_roots);
        let input_side = m.closure(m.operations.iter().filter_map(|o| o.input.as_deref()));

        let mut type_names = BTreeMap::new();
        let mut taken = BTreeSet::new();
        for name in &reachable {
            let s = m.shape(name);
            if s.kind == Kind::Structure || s.is_enum() {
                let mut t: String = name.chars().filter(char::is_ascii_alphanumeric).collect();
                if RESERVED_TYPE_NAMES.contains(&t.as_str()) {
                    t.push_str("Shape");
                }
                assert!(
                    taken.insert(t.clone()),
                    "two shapes map to the Rust type name {t}"
                );
                type_names.insert(*name, t);
            }
        }

        let mut gen = Gen {
            m,
            reachable,
            input_side,
            type_names,
            constrained: BTreeSet::new(),
            used: Default::default(),
        };
        gen.check_no_direct_recursion();
        gen.constrained = gen.compute_constrained();
        gen
    }

    /// Structures containing themselves through plain (non-list, non-map)
    /// members would need `Box`; ECR has none, so refuse rather than guess.
    fn check_no_direct_recursion(&self) {
        fn visit<'a>(g: &Gen<'a>, name: &'a str, path: &mut Vec<&'a str>) {
            if path.contains(&name) {
                panic!(
                    "recursive structure {} -> {name}: teach codegen to Box it",
                    path.join(" -> ")
                );
            }
            path.push(name);
            for mem in &g.m.shape(name).members {
                if g.m.shape(&mem.target).kind == Kind::Structure {
                    visit(g, &mem.target, path);
                }
            }
            path.pop();
        }
        for name in &self.reachable {
            if self.m.shape(name).kind == Kind::Structure {
                visit(self, name, &mut Vec::new());
            }
        }
    }

    /// A shape is constrained when a value of it can fail validation: it has
    /// length/range/pattern/enum constraints, or (structures) a required
    /// member, or contains a constrained shape. Computed to a fixed point.
    fn compute_constrained(&self) -> BTreeSet<&'m str> {
        let mut set = BTreeSet::new();
        loop {
            let before = set.len();
            for &name in &self.input_side {
                let s = self.m.shape(name);
                let own = s.is_enum()
                    || s.pattern.is_some()
                    || s.max.is_some()
                    || s.min
                        .is_some_and(|v| v > 0 || matches!(s.kind, Kind::Integer | Kind::Long))
                    || !s.required.is_empty();
                if own || s.children().iter().any(|c| set.contains(c)) {
                    set.insert(name);
                }
            }
            if set.len() == before {
                return set;
            }
        }
    }

    fn type_name(&self, shape: &str) -> &str {
        self.type_names
            .get(shape)
            .unwrap_or_else(|| panic!("shape {shape} has no Rust type"))
    }

    /// The Rust type of a value of `shape`.
    fn rust_type(&self, shape: &str) -> String {
        let s = self.m.shape(shape);
        match s.kind {
            Kind::Structure => self.type_name(shape).to_owned(),
            Kind::String if s.is_enum() => self.type_name(shape).to_owned(),
            Kind::String => "String".to_owned(),
            Kind::Integer => "i32".to_owned(),
            Kind::Long => "i64".to_owned(),
            Kind::Boolean => "bool".to_owned(),
            Kind::Float | Kind::Double => "f64".to_owned(),
            Kind::Timestamp => "Timestamp".to_owned(),
            Kind::Blob => "Blob".to_owned(),
            Kind::List => format!("Vec<{}>", self.rust_type(s.list_member.as_deref().unwrap())),
            // Map keys stay strings even when the key shape is an enum: the
            // validator checks them, and BTreeMap<String, _> needs no Ord.
            Kind::Map => format!(
                "BTreeMap<String, {}>",
                self.rust_type(s.map_value.as_deref().unwrap())
            ),
        }
    }

    fn uses_kind(&self, kind: Kind) -> bool {
        self.reachable.iter().any(|n| self.m.shape(n).kind == kind)
    }

    fn exceptions(&self) -> Vec<&'m Shape> {
        self.m.shapes.values().filter(|s| s.exception).collect()
    }

    fn op_method(op: &Op) -> String {
        snake(&op.name)
    }

    fn input_type(&self, op: &Op) -> Option<String> {
        op.input.as_deref().map(|s| self.type_name(s).to_owned())
    }

    fn output_type(&self, op: &Op) -> String {
        match &op.output {
            Some(s) => self.type_name(s).to_owned(),
            None => "()".to_owned(),
        }
    }

    // --- header -----------------------------------------------------------

    fn header(&self, out: &mut String) {
        let m = self.m;
        emit!(out, "// @generated by codegen from api-models/ecr-2015-09-21.json — do not edit; regenerate with api-models/regenerate");
        emit!(out, "//");
        emit!(
            out,
            "//! The ECR API ({}), generated from the {} model:",
            m.api_version,
            m.source
        );
        emit!(
            out,
            "//! wire types, string enums, request validation, error codes, the"
        );
        emit!(
            out,
            "//! operation list, the [`EcrApi`] trait and [`dispatch`]."
        );
        emit!(out);
        emit!(out, "use super::error::EcrError;");
        if self.uses_kind(Kind::Blob) && self.uses_kind(Kind::Timestamp) {
            emit!(out, "use super::wire_types::{{Blob, Timestamp}};");
        } else if self.uses_kind(Kind::Blob) {
            emit!(out, "use super::wire_types::Blob;");
        } else if self.uses_kind(Kind::Timestamp) {
            emit!(out, "use super::wire_types::Timestamp;");
        }
        if self.uses_kind(Kind::Map) {
            emit!(out, "use std::collections::BTreeMap;");
        }
        if self.used.borrow().pattern {
            emit!(out, "use regex::Regex;");
            emit!(out, "use std::sync::LazyLock;");
        }
        emit!(out);
        emit!(
            out,
            "/// The `X-Amz-Target` prefix: targets are `{}.<Operation>`.",
            m.target_prefix
        );
        emit!(
            out,
            "pub const TARGET_PREFIX: &str = {};",
            str_lit(&m.target_prefix)
        );
        emit!(
            out,
            "/// The request and response content type of the awsJson{} protocol.",
            m.json_version
        );
        emit!(
            out,
            "pub const CONTENT_TYPE: &str = \"application/x-amz-json-{}\";",
            m.json_version
        );
        emit!(
            out,
            "pub const API_VERSION: &str = {};",
            str_lit(&m.api_version)
        );
        emit!(
            out,
            "pub const SERVICE_ID: &str = {};",
            str_lit(&m.service_id)
        );
        emit!(out, "/// The SigV4 signing name.");
        emit!(
            out,
            "pub const SIGNING_NAME: &str = {};",
            str_lit(&m.signing_name)
        );
        emit!(out);
    }

    // --- error codes ------------------------------------------------------

    fn error_codes(&self, out: &mut String) {
        let ex = self.exceptions();
        emit!(
            out,
            "// ----------------------------------------------------------------------------"
        );
        emit!(out, "// Error codes: every exception shape of the model.");
        emit!(
            out,
            "// ----------------------------------------------------------------------------"
        );
        emit!(out);
        emit!(
            out,
            "/// A modelled ECR error: the `__type` of an error response."
        );
        emit!(
            out,
            "#[allow(clippy::enum_variant_names)] // the model's shape names, all `...Exception`"
        );
        emit!(
            out,
            "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]"
        );
        emit!(out, "pub enum ErrorCode {{");
        for s in &ex {
            if s.is_fault() {
                emit!(out, "    /// A server fault.");
            }
            emit!(out, "    {},", s.name);
        }
        emit!(out, "}}");
        emit!(out);
        emit!(out, "impl ErrorCode {{");
        emit!(out, "    pub const ALL: [ErrorCode; {}] = [", ex.len());
        for s in &ex {
            emit!(out, "        ErrorCode::{},", s.name);
        }
        emit!(out, "    ];");
        emit!(out);
        emit!(
            out,
            "    /// The shape name, which is also the wire `__type`."
        );
        emit!(out, "    pub fn as_str(&self) -> &'static str {{");
        emit!(out, "        match self {{");
        for s in &ex {
            emit!(out, "            ErrorCode::{0} => \"{0}\",", s.name);
        }
        emit!(out, "        }}");
        emit!(out, "    }}");
        emit!(out);
        emit!(
            out,
            "    pub fn from_name(name: &str) -> Option<ErrorCode> {{"
        );
        emit!(out, "        match name {{");
        for s in &ex {
            emit!(out, "            \"{0}\" => Some(ErrorCode::{0}),", s.name);
        }
        emit!(out, "            _ => None,");
        emit!(out, "        }}");
        emit!(out, "    }}");
        emit!(out);
        let faults: Vec<String> = ex
            .iter()
            .filter(|s| s.is_fault())
            .map(|s| format!("ErrorCode::{}", s.name))
            .collect();
        emit!(
            out,
            "    /// Server faults (the model's `fault` flag); all other errors are the caller's."
        );
        emit!(out, "    pub fn is_fault(&self) -> bool {{");
        if faults.is_empty() {
            emit!(out, "        false");
        } else {
            emit!(out, "        matches!(self, {})", faults.join(" | "));
        }
        emit!(out, "    }}");
        emit!(out);
        emit!(
            out,
            "    /// The HTTP status of the error: the model's `httpStatusCode` if it has one,"
        );
        emit!(
            out,
            "    /// else 500 for faults and 400 for client errors."
        );
        emit!(out, "    pub fn http_status(&self) -> u16 {{");
        let explicit: Vec<&&Shape> = ex.iter().filter(|s| s.http_status.is_some()).collect();
        if explicit.is_empty() {
            emit!(out, "        if self.is_fault() {{ 500 }} else {{ 400 }}");
        } else {
            emit!(out, "        match self {{");
            for s in explicit {
                emit!(
                    out,
                    "            ErrorCode::{} => {},",
                    s.name,
                    s.http_status.unwrap()
                );
            }
            emit!(out, "            _ if self.is_fault() => 500,");
            emit!(out, "            _ => 400,");
            emit!(out, "        }}");
        }
        emit!(out, "    }}");
        emit!(out, "}}");
        emit!(out);
        emit!(out, "impl std::fmt::Display for ErrorCode {{");
        emit!(
            out,
            "    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{"
        );
        emit!(out, "        f.write_str(self.as_str())");
        emit!(out, "    }}");
        emit!(out, "}}");
        emit!(out);
    }

    // --- operations -------------------------------------------------------

    fn operations(&self, out: &mut String) {
        let ops = &self.m.operations;
        emit!(
            out,
            "// ----------------------------------------------------------------------------"
        );
        emit!(out, "// Operations.");
        emit!(
            out,
            "// ----------------------------------------------------------------------------"
        );
        emit!(out);
        emit!(out, "/// Every operation of the model.");
        emit!(
            out,
            "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]"
        );
        emit!(out, "pub enum Operation {{");
        for op in ops {
            emit!(out, "    {},", op.name);
        }
        emit!(out, "}}");
        emit!(out);
        emit!(out, "impl Operation {{");
        emit!(out, "    pub const ALL: [Operation; {}] = [", ops.len());
        for op in ops {
            emit!(out, "        Operation::{},", op.name);
        }
        emit!(out, "    ];");
        emit!(out);
        emit!(out, "    pub fn name(&self) -> &'static str {{");
        emit!(out, "        match self {{");
        for op in ops {
            emit!(out, "            Operation::{0} => \"{0}\",", op.name);
        }
        emit!(out, "        }}");
        emit!(out, "    }}");
        emit!(out);
        emit!(
            out,
            "    pub fn from_name(name: &str) -> Option<Operation> {{"
        );
        emit!(out, "        match name {{");
        for op in ops {
            emit!(out, "            \"{0}\" => Some(Operation::{0}),", op.name);
        }
        emit!(out, "            _ => None,");
        emit!(out, "        }}");
        emit!(out, "    }}");
        emit!(out);
        emit!(
            out,
            "    /// Parses an `X-Amz-Target` header value; exactly `{}.<Operation>` is accepted.",
            self.m.target_prefix
        );
        emit!(
            out,
            "    pub fn from_target(target: &str) -> Option<Operation> {{"
        );
        emit!(
            out,
            "        let name = target.strip_prefix(TARGET_PREFIX)?.strip_prefix('.')?;"
        );
        emit!(out, "        Operation::from_name(name)");
        emit!(out, "    }}");
        emit!(out);
        emit!(
            out,
            "    /// The errors the model lists for the operation, in model order."
        );
        emit!(out, "    pub fn errors(&self) -> &'static [ErrorCode] {{");
        emit!(out, "        match self {{");
        for op in ops {
            let errs: Vec<String> = op
                .errors
                .iter()
                .map(|e| format!("ErrorCode::{e}"))
                .collect();
            emit!(
                out,
                "            Operation::{} => &[{}],",
                op.name,
                errs.join(", ")
            );
        }
        emit!(out, "        }}");
        emit!(out, "    }}");
        emit!(out, "}}");
        emit!(out);
        emit!(out, "impl std::fmt::Display for Operation {{");
        emit!(
            out,
            "    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{"
        );
        emit!(out, "        f.write_str(self.name())");
        emit!(out, "    }}");
        emit!(out, "}}");
        emit!(out);
    }

    // --- string enums -----------------------------------------------------

    fn enums(&self, out: &mut String) {
        emit!(
            out,
            "// ----------------------------------------------------------------------------"
        );
        emit!(
            out,
            "// String enums. A value outside the model's set deserializes to `Unknown`"
        );
        emit!(
            out,
            "// (not a serde error) so that validation can reject it the way ECR does."
        );
        emit!(
            out,
            "// ----------------------------------------------------------------------------"
        );
        emit!(out);
        for name in &self.reachable {
            let s = self.m.shape(name);
            if s.is_enum() {
                self.one_enum(out, s);
            }
        }
    }

    fn one_enum(&self, out: &mut String, s: &Shape) {
        let t = self.type_name(&s.name);
        let variants: Vec<(String, &str)> = s
            .enum_values
            .iter()
            .map(|v| (variant_name(v), v.as_str()))
            .collect();
        let mut seen = BTreeSet::new();
        for (v, value) in &variants {
            assert!(
                v != "Unknown" && seen.insert(v.clone()),
                "enum {}: value {value:?} maps to a duplicate or reserved variant {v}",
                s.name
            );
        }
        emit!(out, "/// String enum `{}`.", s.name);
        emit!(out, "#[derive(Debug, Clone, PartialEq, Eq, Hash)]");
        emit!(out, "pub enum {t} {{");
        for (v, value) in &variants {
            emit!(out, "    /// `{value}`");
            emit!(out, "    {v},");
        }
        emit!(
            out,
            "    /// A value outside the model's set, kept verbatim."
        );
        emit!(out, "    Unknown(String),");
        emit!(out, "}}");
        emit!(out);
        emit!(out, "impl {t} {{");
        emit!(out, "    /// The model's values, in model order.");
        let values: Vec<String> = variants.iter().map(|(_, v)| str_lit(v)).collect();
        emit!(
            out,
            "    pub const VALUES: &'static [&'static str] = &[{}];",
            values.join(", ")
        );
        emit!(out);
        emit!(out, "    pub fn as_str(&self) -> &str {{");
        emit!(out, "        match self {{");
        for (v, value) in &variants {
            emit!(out, "            {t}::{v} => {},", str_lit(value));
        }
        emit!(out, "            {t}::Unknown(v) => v,");
        emit!(out, "        }}");
        emit!(out, "    }}");
        emit!(out);
        emit!(out, "    /// `false` for [`{t}::Unknown`].");
        emit!(out, "    pub fn is_known(&self) -> bool {{");
        emit!(out, "        !matches!(self, {t}::Unknown(_))");
        emit!(out, "    }}");
        emit!(out, "}}");
        emit!(out);
        emit!(out, "impl From<&str> for {t} {{");
        emit!(out, "    fn from(v: &str) -> {t} {{");
        emit!(out, "        match v {{");
        for (v, value) in &variants {
            emit!(out, "            {} => {t}::{v},", str_lit(value));
        }
        emit!(out, "            other => {t}::Unknown(other.to_owned()),");
        emit!(out, "        }}");
        emit!(out, "    }}");
        emit!(out, "}}");
        emit!(out);
        emit!(out, "impl From<String> for {t} {{");
        emit!(out, "    fn from(v: String) -> {t} {{");
        emit!(out, "        match {t}::from(v.as_str()) {{");
        emit!(out, "            {t}::Unknown(_) => {t}::Unknown(v),");
        emit!(out, "            known => known,");
        emit!(out, "        }}");
        emit!(out, "    }}");
        emit!(out, "}}");
        emit!(out);
        emit!(out, "impl std::fmt::Display for {t} {{");
        emit!(
            out,
            "    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{"
        );
        emit!(out, "        f.write_str(self.as_str())");
        emit!(out, "    }}");
        emit!(out, "}}");
        emit!(out);
        emit!(out, "impl serde::Serialize for {t} {{");
        emit!(out, "    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {{");
        emit!(out, "        serializer.serialize_str(self.as_str())");
        emit!(out, "    }}");
        emit!(out, "}}");
        emit!(out);
        emit!(out, "impl<'de> serde::Deserialize<'de> for {t} {{");
        emit!(out, "    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<{t}, D::Error> {{");
        emit!(
            out,
            "        <String as serde::Deserialize>::deserialize(deserializer).map({t}::from)"
        );
        emit!(out, "    }}");
        emit!(out, "}}");
        emit!(out);
    }

    // --- structures -------------------------------------------------------

    /// How a structure is used, for its doc comment.
    fn roles(&self, shape: &str) -> String {
        let mut roles = Vec::new();
        for op in &self.m.operations {
            if op.input.as_deref() == Some(shape) {
                roles.push(format!("input of `{}`", op.name));
            }
            if op.output.as_deref() == Some(shape) {
                roles.push(format!("output of `{}`", op.name));
            }
        }
        if roles.is_empty() {
            String::new()
        } else {
            format!(" ({})", roles.join(", "))
        }
    }

    fn structures(&self, out: &mut String) {
        emit!(
            out,
            "// ----------------------------------------------------------------------------"
        );
        emit!(
            out,
            "// Structures. Every member is optional on the Rust side: `required` is"
        );
        emit!(
            out,
            "// enforced by `Validate`, which answers like ECR (InvalidParameterException)"
        );
        emit!(
            out,
            "// where a serde error would not. Unknown JSON members are ignored."
        );
        emit!(
            out,
            "// ----------------------------------------------------------------------------"
        );
        emit!(out);
        for name in &self.reachable {
            let s = self.m.shape(name);
            if s.kind == Kind::Structure {
                self.one_structure(out, s);
            }
        }
    }

    /// The constraints of a member's target shape, for the field's doc comment.
    fn constraint_summary(&self, shape: &str) -> Vec<String> {
        let s = self.m.shape(shape);
        let what = match s.kind {
            Kind::Integer | Kind::Long | Kind::Float | Kind::Double => "value",
            _ => "length",
        };
        let mut out = Vec::new();
        match (s.min, s.max) {
            (Some(min), Some(max)) => out.push(format!("{what} {min}..={max}")),
            (Some(min), None) => out.push(format!("{what} >= {min}")),
            (None, Some(max)) => out.push(format!("{what} <= {max}")),
            (None, None) => {}
        }
        if let Some(p) = &s.pattern {
            out.push(format!("pattern `{p}`"));
        }
        out
    }

    fn one_structure(&self, out: &mut String, s: &Shape) {
        let t = self.type_name(&s.name);
        emit!(out, "/// Structure `{}`{}.", s.name, self.roles(&s.name));
        emit!(
            out,
            "#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]"
        );
        if s.members.is_empty() {
            emit!(out, "pub struct {t} {{}}");
            emit!(out);
            return;
        }
        emit!(out, "pub struct {t} {{");
        let mut fields = BTreeSet::new();
        for mem in &s.members {
            let f = field_name(&mem.name);
            assert!(
                fields.insert(f.clone()),
                "structure {}: two members map to the field {f}",
                s.name
            );
            let mut notes = Vec::new();
            if s.required.contains(&mem.name) {
                notes.push("required".to_owned());
            }
            if mem.deprecated {
                notes.push("deprecated".to_owned());
            }
            notes.extend(self.constraint_summary(&mem.target));
            if notes.is_empty() {
                emit!(out, "    /// `{}`", mem.target);
            } else {
                emit!(out, "    /// `{}`: {}", mem.target, notes.join("; "));
            }
            emit!(
                out,
                "    #[serde(rename = {}, default, skip_serializing_if = \"Option::is_none\")]",
                str_lit(&mem.name)
            );
            emit!(out, "    pub {f}: Option<{}>,", self.rust_type(&mem.target));
        }
        emit!(out, "}}");
        emit!(out);
    }

    // --- validation -------------------------------------------------------

    fn validation(&self, out: &mut String) {
        emit!(
            out,
            "// ----------------------------------------------------------------------------"
        );
        emit!(
            out,
            "// Validation of requests against the model's constraints. Errors name the"
        );
        emit!(
            out,
            "// member by its own JSON name and use ECR's constraint texts."
        );
        emit!(
            out,
            "// ----------------------------------------------------------------------------"
        );
        emit!(out);
        emit!(
            out,
            "/// Checks a request (or a structure nested in one) against the model's"
        );
        emit!(
            out,
            "/// constraints; the first violation becomes an InvalidParameterException."
        );
        emit!(out, "pub trait Validate {{");
        emit!(out, "    fn validate(&self) -> Result<(), EcrError>;");
        emit!(out, "}}");
        emit!(out);
        // Every input-side structure implements Validate (dispatch needs it
        // for all inputs; nested ones are only called when constrained).
        for name in &self.input_side {
            let s = self.m.shape(name);
            if s.kind == Kind::Structure {
                self.validate_impl(out, s);
            }
        }
        // One check function per constrained non-structure shape.
        for name in &self.input_side {
            let s = self.m.shape(name);
            if s.kind != Kind::Structure && self.constrained.contains(name) {
                self.check_fn(out, s);
            }
        }
        // One compiled-once regex per pattern.
        for name in &self.input_side {
            let s = self.m.shape(name);
            if let Some(p) = &s.pattern {
                emit!(out, "/// `{}`, anchored.", s.name);
                emit!(
                    out,
                    "static RE_{}: LazyLock<Regex> = LazyLock::new(|| Regex::new({}).expect(\"model pattern compiles\"));",
                    screaming(&s.name),
                    str_lit(&format!("^(?:{})$", rust_regex(p)))
                );
                emit!(out);
            }
        }
    }

    fn validate_impl(&self, out: &mut String, s: &Shape) {
        let t = self.type_name(&s.name);
        let mut lines = Vec::new();
        // Missing required members first (in the model's order), as the most
        // basic problem; then the members' own constraints.
        for r in &s.required {
            self.used.borrow_mut().required = true;
            lines.push(format!(
                "        required(&self.{}, {})?;",
                field_name(r),
                str_lit(r)
            ));
        }
        for mem in &s.members {
            let f = field_name(&mem.name);
            let member = str_lit(&mem.name);
            if self.constrained.contains(mem.target.as_str()) {
                let target = self.m.shape(&mem.target);
                let (binding, call) = match target.kind {
                    Kind::Structure => ("&self", "v.validate()?".to_owned()),
                    Kind::Integer | Kind::Long => (
                        "self",
                        format!("check_{}(v, {member})?", snake(&target.name)),
                    ),
                    _ => (
                        "&self",
                        format!("check_{}(v, {member})?", snake(&target.name)),
                    ),
                };
                lines.push(format!(
                    "        if let Some(v) = {binding}.{f} {{\n            {call};\n        }}"
                ));
            }
        }
        emit!(out, "impl Validate for {t} {{");
        emit!(out, "    fn validate(&self) -> Result<(), EcrError> {{");
        for l in lines {
            emit!(out, "{l}");
        }
        emit!(out, "        Ok(())");
        emit!(out, "    }}");
        emit!(out, "}}");
        emit!(out);
    }

    /// The statement checking one element (list item, map key or value) of
    /// shape `target` bound to `v` (a reference), or None if unconstrained.
    fn element_check(&self, target: &str, v: &str, key: bool) -> Option<String> {
        if !self.constrained.contains(target) {
            return None;
        }
        let t = self.m.shape(target);
        Some(match t.kind {
            Kind::Structure => format!("{v}.validate()?;"),
            Kind::Integer | Kind::Long => format!("check_{}(*{v}, member)?;", snake(target)),
            // Map keys are plain strings even when the key shape is an enum.
            Kind::String if key && t.is_enum() => format!(
                "check_{}(&{}::from({v}.as_str()), member)?;",
                snake(target),
                self.type_name(target)
            ),
            _ => format!("check_{}({v}, member)?;", snake(target)),
        })
    }

    fn check_fn(&self, out: &mut String, s: &Shape) {
        let mut used = self.used.borrow_mut();
        let (param, len) = match s.kind {
            Kind::String if s.is_enum() => (format!("&{}", self.type_name(&s.name)), None),
            Kind::String => ("&str".to_owned(), Some("v.chars().count()")),
            Kind::Blob => ("&Blob".to_owned(), Some("v.len()")),
            Kind::List => (
                format!("&[{}]", self.rust_type(s.list_member.as_deref().unwrap())),
                Some("v.len()"),
            ),
            Kind::Map => (format!("&{}", self.rust_type(&s.name)), Some("v.len()")),
            Kind::Integer => ("i32".to_owned(), None),
            Kind::Long => ("i64".to_owned(), None),
            other => panic!(
                "shape {}: constraints on {other:?} are not supported",
                s.name
            ),
        };
        let mut lines = Vec::new();
        if let Some(len) = len {
            if let Some(min) = s.min.filter(|&m| m > 0) {
                used.min_length = true;
                lines.push(format!("check_min_length({len}, {min}, member)?;"));
            }
            if let Some(max) = s.max {
                used.max_length = true;
                lines.push(format!("check_max_length({len}, {max}, member)?;"));
            }
        } else if matches!(s.kind, Kind::Integer | Kind::Long) {
            let v = if s.kind == Kind::Integer {
                "i64::from(v)"
            } else {
                "v"
            };
            if let Some(min) = s.min {
                used.min_value = true;
                lines.push(format!("check_min_value({v}, {min}, member)?;"));
            }
            if let Some(max) = s.max {
                used.max_value = true;
                lines.push(format!("check_max_value({v}, {max}, member)?;"));
            }
        }
        if s.is_enum() {
            used.enumeration = true;
            lines.push(format!(
                "check_enum(v.is_known(), {}::VALUES, member)?;",
                self.type_name(&s.name)
            ));
        }
        if let Some(p) = &s.pattern {
            used.pattern = true;
            lines.push(format!(
                "check_pattern(v, &RE_{}, {}, member)?;",
                screaming(&s.name),
                str_lit(p)
            ));
        }
        drop(used);
        if let Some(item) = &s.list_member {
            if let Some(check) = self.element_check(item, "item", false) {
                lines.push(format!("for item in v {{\n        {check}\n    }}"));
            }
        }
        if let (Some(k), Some(val)) = (&s.map_key, &s.map_value) {
            let kc = self.element_check(k, "key", true);
            let vc = self.element_check(val, "value", false);
            if kc.is_some() || vc.is_some() {
                let k_bind = if kc.is_some() { "key" } else { "_key" };
                let v_bind = if vc.is_some() { "value" } else { "_value" };
                let body: Vec<String> = kc.into_iter().chain(vc).collect();
                lines.push(format!(
                    "for ({k_bind}, {v_bind}) in v {{\n        {}\n    }}",
                    body.join("\n        ")
                ));
            }
        }
        // Items that are structures report their own member names.
        let member = if lines.iter().any(|l| l.contains("member")) {
            "member"
        } else {
            "_member"
        };
        emit!(out, "/// Constraints of `{}`.", s.name);
        emit!(
            out,
            "fn check_{}(v: {param}, {member}: &str) -> Result<(), EcrError> {{",
            snake(&s.name)
        );
        for l in lines {
            emit!(out, "    {l}");
        }
        emit!(out, "    Ok(())");
        emit!(out, "}}");
        emit!(out);
    }

    // --- the API trait ----------------------------------------------------

    fn api_trait(&self, out: &mut String) {
        emit!(
            out,
            "// ----------------------------------------------------------------------------"
        );
        emit!(
            out,
            "// The API: one method per operation, each defaulting to NotImplemented so"
        );
        emit!(
            out,
            "// that an implementation only overrides what it supports."
        );
        emit!(
            out,
            "// ----------------------------------------------------------------------------"
        );
        emit!(out);
        emit!(
            out,
            "/// The ECR API. Implement the operations ecrd supports; [`dispatch`] decodes"
        );
        emit!(
            out,
            "/// and validates requests before calling these methods."
        );
        emit!(out, "pub trait EcrApi: Send + Sync {{");
        emit!(out, "    /// Per-request context (caller identity, request id, ...), passed through by [`dispatch`].");
        emit!(out, "    type Context: Send + Sync;");
        for op in &self.m.operations {
            let method = Self::op_method(op);
            let output = self.output_type(op);
            emit!(out);
            emit!(out, "    /// `{}`", op.name);
            let (param, unused) = match self.input_type(op) {
                Some(input) => (format!(", input: {input}"), "(ctx, input)"),
                None => (String::new(), "ctx"),
            };
            emit!(out, "    fn {method}(&self, ctx: &Self::Context{param}) -> impl std::future::Future<Output = Result<{output}, EcrError>> + Send {{");
            emit!(out, "        let _ = {unused};");
            emit!(
                out,
                "        async {{ Err(EcrError::not_implemented(\"{}\")) }}",
                op.name
            );
            emit!(out, "    }}");
        }
        emit!(out, "}}");
        emit!(out);
    }

    // --- dispatch ---------------------------------------------------------

    fn dispatch(&self, out: &mut String) {
        emit!(
            out,
            "// ----------------------------------------------------------------------------"
        );
        emit!(out, "// Dispatch: request body in, response body out.");
        emit!(
            out,
            "// ----------------------------------------------------------------------------"
        );
        emit!(out);
        emit!(
            out,
            "/// Decodes the request body of `op` (empty means `{{}}`), validates it, calls"
        );
        emit!(
            out,
            "/// the [`EcrApi`] method and encodes its output (absent members omitted)."
        );
        emit!(out, "pub async fn dispatch<A: EcrApi>(api: &A, ctx: &A::Context, op: Operation, body: &[u8]) -> Result<Vec<u8>, EcrError> {{");
        emit!(out, "    match op {{");
        for op in &self.m.operations {
            let method = Self::op_method(op);
            let call = match &op.input {
                Some(_) => format!("api.{method}(ctx, decode(body)?).await?"),
                None => format!("{{\n            decode::<serde_json::Map<String, serde_json::Value>>(body)?;\n            api.{method}(ctx).await?\n        }}"),
            };
            if op.output.is_some() {
                emit!(out, "        Operation::{} => encode(&{call}),", op.name);
            } else {
                emit!(out, "        Operation::{} => {{", op.name);
                emit!(out, "            {call};");
                emit!(out, "            Ok(b\"{{}}\".to_vec())");
                emit!(out, "        }}");
            }
        }
        emit!(out, "    }}");
        emit!(out, "}}");
        emit!(out);
        let any_no_input = self.m.operations.iter().any(|o| o.input.is_none());
        emit!(
            out,
            "/// Parses and validates a request body. Anything but a JSON object is a"
        );
        emit!(
            out,
            "/// SerializationException, as are members of the wrong JSON type."
        );
        if any_no_input {
            emit!(out, "fn decode<T: serde::de::DeserializeOwned + MaybeValidate>(body: &[u8]) -> Result<T, EcrError> {{");
        } else {
            emit!(out, "fn decode<T: serde::de::DeserializeOwned + Validate>(body: &[u8]) -> Result<T, EcrError> {{");
        }
        emit!(out, "    let mut body = body.trim_ascii();");
        emit!(out, "    if body.is_empty() {{");
        emit!(out, "        body = b\"{{}}\";");
        emit!(out, "    }}");
        emit!(
            out,
            "    // Checked up front: serde would also accept a JSON array for a struct."
        );
        emit!(out, "    if body.first() != Some(&b'{{') {{");
        emit!(out, "        return Err(EcrError::serialization(\"the request body must be a JSON object\"));");
        emit!(out, "    }}");
        emit!(out, "    let input: T = serde_json::from_slice(body).map_err(|e| EcrError::serialization(e.to_string()))?;");
        emit!(out, "    input.validate()?;");
        emit!(out, "    Ok(input)");
        emit!(out, "}}");
        emit!(out);
        if any_no_input {
            emit!(
                out,
                "/// Operations without input only need the body to be an object."
            );
            emit!(
                out,
                "trait MaybeValidate {{ fn validate(&self) -> Result<(), EcrError>; }}"
            );
            emit!(out, "impl<T: Validate> MaybeValidate for T {{ fn validate(&self) -> Result<(), EcrError> {{ Validate::validate(self) }} }}");
            emit!(out, "impl MaybeValidate for serde_json::Map<String, serde_json::Value> {{ fn validate(&self) -> Result<(), EcrError> {{ Ok(()) }} }}");
            emit!(out);
        }
        if self.m.operations.iter().any(|o| o.output.is_some()) {
            emit!(
                out,
                "fn encode<T: serde::Serialize>(output: &T) -> Result<Vec<u8>, EcrError> {{"
            );
            emit!(out, "    serde_json::to_vec(output).map_err(|e| EcrError::server(format!(\"cannot encode the response: {{e}}\")))");
            emit!(out, "}}");
            emit!(out);
        }
    }

    // --- helpers ----------------------------------------------------------

    fn helpers(&self, out: &mut String) {
        let used = self.used.borrow();
        emit!(
            out,
            "// ----------------------------------------------------------------------------"
        );
        emit!(out, "// Validation helpers (ECR's constraint texts).");
        emit!(
            out,
            "// ----------------------------------------------------------------------------"
        );
        emit!(out);
        if used.required {
            emit!(
                out,
                "fn required<T>(v: &Option<T>, member: &str) -> Result<(), EcrError> {{"
            );
            emit!(out, "    match v {{");
            emit!(out, "        Some(_) => Ok(()),");
            emit!(
                out,
                "        None => Err(EcrError::constraint(member, \"Member must not be null\")),"
            );
            emit!(out, "    }}");
            emit!(out, "}}");
            emit!(out);
        }
        let pairs = [
            (
                used.min_length,
                "check_min_length",
                "usize",
                "<",
                "Member must have length greater than or equal to",
            ),
            (
                used.max_length,
                "check_max_length",
                "usize",
                ">",
                "Member must have length less than or equal to",
            ),
            (
                used.min_value,
                "check_min_value",
                "i64",
                "<",
                "Member must have value greater than or equal to",
            ),
            (
                used.max_value,
                "check_max_value",
                "i64",
                ">",
                "Member must have value less than or equal to",
            ),
        ];
        for (on, name, ty, op, text) in pairs {
            if on {
                emit!(
                    out,
                    "fn {name}(v: {ty}, limit: {ty}, member: &str) -> Result<(), EcrError> {{"
                );
                emit!(out, "    if v {op} limit {{");
                emit!(out, "        return Err(EcrError::constraint(member, format!(\"{text} {{limit}}\")));");
                emit!(out, "    }}");
                emit!(out, "    Ok(())");
                emit!(out, "}}");
                emit!(out);
            }
        }
        if used.pattern {
            emit!(out, "fn check_pattern(v: &str, re: &Regex, pattern: &str, member: &str) -> Result<(), EcrError> {{");
            emit!(out, "    if !re.is_match(v) {{");
            emit!(out, "        return Err(EcrError::constraint(member, format!(\"Member must satisfy regular expression pattern: {{pattern}}\")));");
            emit!(out, "    }}");
            emit!(out, "    Ok(())");
            emit!(out, "}}");
            emit!(out);
        }
        if used.enumeration {
            emit!(out, "fn check_enum(known: bool, values: &[&str], member: &str) -> Result<(), EcrError> {{");
            emit!(out, "    if !known {{");
            emit!(out, "        return Err(EcrError::constraint(member, format!(\"Member must satisfy enum value set: [{{}}]\", values.join(\", \"))));");
            emit!(out, "    }}");
            emit!(out, "    Ok(())");
            emit!(out, "}}");
            emit!(out);
        }
    }

    // --- tests ------------------------------------------------------------

    fn tests(&self, out: &mut String) {
        let patterns: Vec<&str> = self
            .input_side
            .iter()
            .copied()
            .filter(|n| self.m.shape(n).pattern.is_some())
            .collect();
        if patterns.is_empty() {
            return;
        }
        emit!(out, "#[cfg(test)]");
        emit!(out, "mod tests {{");
        emit!(out, "    use super::*;");
        emit!(out);
        emit!(
            out,
            "    /// The model's patterns are Java regexes; make sure each one compiles here."
        );
        emit!(out, "    #[test]");
        emit!(out, "    fn model_patterns_compile() {{");
        for n in patterns {
            emit!(out, "        LazyLock::force(&RE_{});", screaming(n));
        }
        emit!(out, "    }}");
        emit!(out, "}}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naming() {
        assert_eq!(snake("imageTagMutability"), "image_tag_mutability");
        assert_eq!(snake("Key"), "key");
        assert_eq!(
            snake("BatchGetRepositoryScanningConfiguration"),
            "batch_get_repository_scanning_configuration"
        );
        assert_eq!(snake("KMSKeyId"), "kms_key_id");
        assert_eq!(field_name("type"), "r#type");
        assert_eq!(
            variant_name("IMMUTABLE_WITH_EXCLUSION"),
            "ImmutableWithExclusion"
        );
        assert_eq!(variant_name("ecr-public"), "EcrPublic");
        assert_eq!(variant_name("AES256"), "Aes256");
        assert_eq!(variant_name("InvalidImageDigest"), "InvalidImageDigest");
        assert_eq!(variant_name("k8s"), "K8s");
        assert_eq!(variant_name("application/vnd.oci"), "ApplicationVndOci");
        assert_eq!(screaming("RepositoryName"), "REPOSITORY_NAME");
    }

    #[test]
    fn literals_and_regexes() {
        assert_eq!(str_lit("abc"), "\"abc\"");
        assert_eq!(str_lit(r"a\.b"), r#"r"a\.b""#);
        assert_eq!(str_lit(r#"a"b"#), "r#\"a\"b\"#");
        assert_eq!(
            rust_regex(r"[\w+=,.@-]+(/\w)"),
            r"[[:word:]+=,.@-]+(/[[:word:]])"
        );
        assert_eq!(rust_regex(r"\\w\/"), r"\\w\/");
    }
}
