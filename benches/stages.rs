use criterion::{criterion_group, criterion_main, Criterion};

fn stages(_c: &mut Criterion) {}

criterion_group!(benches, stages);
criterion_main!(benches);
