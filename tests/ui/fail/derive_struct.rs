#[derive(promstatic::LabelValue)]
struct Method {
    name: String,
}

fn main() {}
