#[derive(promstatic::LabelValue)]
enum Class {
    #[label(name = "ok")]
    Success,
    Failure,
}

fn main() {}
