#[derive(promstatic::LabelValue)]
enum Status {
    Ok,
    Code(u16),
}

fn main() {}
