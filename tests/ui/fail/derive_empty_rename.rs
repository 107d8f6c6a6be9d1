#[derive(promstatic::LabelValue)]
enum Class {
    #[label(rename = "")]
    Success,
    Failure,
}

fn main() {}
