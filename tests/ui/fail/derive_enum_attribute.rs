#[derive(promstatic::LabelValue)]
#[label(rename = "x")]
enum Class {
    Success,
    Failure,
}

fn main() {}
