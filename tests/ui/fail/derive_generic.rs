#[derive(promstatic::LabelValue)]
enum Class<const N: usize> {
    Success,
    Failure,
}

fn main() {}
